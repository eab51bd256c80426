using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CyAgents.SystemApi.Events;

/// <summary>
/// Wakes the stream's readers when this process commits anything, so a subscriber sees an event at once instead of at its
/// next poll. Readers still poll (<see cref="EventStreamOptions.PollInterval"/>), which covers writers in other processes.
/// </summary>
public sealed class EventPulse
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Wakes every waiting reader.</summary>
    public void Pulse() => Interlocked.Exchange(ref _next, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Completes at the next pulse or after <paramref name="timeout"/>.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        try { await Volatile.Read(ref _next).Task.WaitAsync(timeout, ct); }
        catch (TimeoutException) { }
    }

    /// <summary>The EF interceptors that pulse after a save outside a transaction and after a commit.</summary>
    public IInterceptor[] Interceptors => [new Saved(this), new Committed(this)];

    private sealed class Saved(EventPulse pulse) : SaveChangesInterceptor
    {
        public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData data, int result, CancellationToken ct = default)
        {
            if (data.Context?.Database.CurrentTransaction is null) pulse.Pulse();
            return ValueTask.FromResult(result);
        }

        public override int SavedChanges(SaveChangesCompletedEventData data, int result)
        {
            if (data.Context?.Database.CurrentTransaction is null) pulse.Pulse();
            return result;
        }
    }

    private sealed class Committed(EventPulse pulse) : DbTransactionInterceptor
    {
        public override Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData data, CancellationToken ct = default)
        {
            pulse.Pulse();
            return Task.CompletedTask;
        }

        public override void TransactionCommitted(DbTransaction transaction, TransactionEndEventData data) => pulse.Pulse();
    }
}
