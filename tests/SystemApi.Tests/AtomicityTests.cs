using System.Net;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence.Ledger;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace CyAgents.SystemApi.Tests;

public class AtomicityTests
{
    [Fact]
    public async Task A_failure_after_the_escrow_is_written_leaves_neither_the_escrow_nor_the_bid()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();
        // The ledger succeeds, then the request dies before the bid row is saved.
        await using var crashing = api.WithWebHostBuilder(b => b.ConfigureTestServices(s =>
            s.AddSingleton<LedgerBinding>(_ => db => new FailAfterTransfer(new EfLedger(db)))));
        using var http = crashing.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);

        var response = await http.PostAsJsonAsync(ApiRoutes.Bids, new PlaceBidRequest(new ResourceBundleDto(100, 64, 0, 0), 50));

        await response.ShouldBeProblemAsync(HttpStatusCode.InternalServerError, ErrorCodes.Internal);
        (await api.SnapshotAsync()).ShouldBe(before);
        (await (await api.LedgerAsync()).CheckConservationAsync()).Holds.ShouldBeTrue();
    }

    [Fact]
    public async Task A_failing_request_in_a_shared_commit_does_not_disturb_the_others()
    {
        await using var api = new ApiFactory();
        var rich = await api.AgentTokenAsync("rich", 10_000);
        var poor = await api.AgentTokenAsync("poor", 10);
        using var a = api.ClientWith(rich);
        using var b = api.ClientWith(poor);
        var bid = new PlaceBidRequest(new ResourceBundleDto(100, 64, 0, 0), 100);

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? a : b).PostAsJsonAsync(ApiRoutes.Bids, bid)));

        responses.Where((_, i) => i % 2 == 0).ShouldAllBe(r => r.StatusCode == HttpStatusCode.Created);
        responses.Where((_, i) => i % 2 == 1).ShouldAllBe(r => r.StatusCode == HttpStatusCode.PaymentRequired);
        (await api.TypedClient(rich).GetBalanceAsync()).Reserved.ShouldBe(2000);
        (await api.TypedClient(poor).GetBalanceAsync()).ShouldBe(new BalanceResponse("poor", 10, 0, 10));
    }

    private sealed class FailAfterTransfer(ILedger inner) : ILedger, IAsyncDisposable
    {
        public async ValueTask<Transfer> TransferAsync(TransferRequest request, CancellationToken ct = default)
        {
            await inner.TransferAsync(request, ct);
            throw new IOException("simulated crash between the escrow and the bid row");
        }

        public ValueTask OpenAccountAsync(string accountId, AccountKind kind, CancellationToken ct = default) => inner.OpenAccountAsync(accountId, kind, ct);
        public ValueTask<Transfer> ResolveAsync(PendingResolution resolution, CancellationToken ct = default) => inner.ResolveAsync(resolution, ct);
        public ValueTask<IReadOnlyList<Transfer>> ApplyBatchAsync(IReadOnlyList<LedgerOperation> operations, CancellationToken ct = default) =>
            inner.ApplyBatchAsync(operations, ct);
        public ValueTask<AccountBalance> GetBalanceAsync(string accountId, CancellationToken ct = default) => inner.GetBalanceAsync(accountId, ct);
        public ValueTask<IReadOnlyList<AccountBalance>> GetBalancesAsync(CancellationToken ct = default) => inner.GetBalancesAsync(ct);
        public ValueTask<Transfer?> FindTransferAsync(string transferId, CancellationToken ct = default) => inner.FindTransferAsync(transferId, ct);
        public ValueTask<IReadOnlyList<Transfer>> GetTransfersAsync(string accountId, int skip, int take, CancellationToken ct = default) =>
            inner.GetTransfersAsync(accountId, skip, take, ct);
        public ValueTask<ConservationReport> CheckConservationAsync(CancellationToken ct = default) => inner.CheckConservationAsync(ct);
        public ValueTask DisposeAsync() => ((IAsyncDisposable)inner).DisposeAsync();
    }
}
