using System.Data.Common;
using CyAgents.Persistence;
using CyAgents.SystemApi.Identity;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.SystemApi.Tests;

public class TokenRevocationRaceTests
{
    [Fact]
    public async Task A_token_revoked_while_it_is_being_validated_is_refused_right_after()
    {
        var file = Path.Combine(Path.GetTempPath(), $"cyagents-race-{Guid.NewGuid():N}.db");
        var database = DatabaseOptions.ForSqliteFile(file);
        await DatabaseSetup.EnsureCreatedAsync(database);
        try
        {
            var pause = new PauseAfterFirstRead();
            var tokens = new AgentTokenService(new Factory(database, pause), TimeProvider.System, NullLogger<AgentTokenService>.Instance);
            var issued = await tokens.IssueAsync("alice", "exe-1", 1);

            // The validation reads the token before the revocation and remembers it only after the revocation is done.
            pause.Arm();
            var validating = tokens.ValidateAsync(issued.Token);
            await pause.Reached.Task;
            (await tokens.RevokeExecutionAsync("exe-1")).ShouldBe(1);
            pause.Release.SetResult();
            (await validating).ShouldNotBeNull();

            (await tokens.ValidateAsync(issued.Token)).ShouldBeNull();
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            File.Delete(file);
        }
    }

    private sealed class Factory(DatabaseOptions database, IInterceptor interceptor) : IDbContextFactory<CyAgentsDbContext>
    {
        public CyAgentsDbContext CreateDbContext()
        {
            var builder = new DbContextOptionsBuilder<CyAgentsDbContext>();
            database.Apply(builder);
            builder.AddInterceptors(interceptor);
            return new CyAgentsDbContext(builder.Options);
        }
    }

    /// <summary>Holds the first query after <see cref="Arm"/> once its connection is closed (no lock left on the file).</summary>
    private sealed class PauseAfterFirstRead : DbConnectionInterceptor
    {
        private int _armed;
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Arm() => _armed = 1;

        public override async Task ConnectionClosedAsync(DbConnection connection, ConnectionEndEventData eventData)
        {
            if (Interlocked.Exchange(ref _armed, 0) == 1)
            {
                Reached.SetResult();
                await Release.Task;
            }
        }
    }
}
