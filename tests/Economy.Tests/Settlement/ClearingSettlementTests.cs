using CyAgents.Economy.Clearing;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Economy.Settlement;

namespace CyAgents.Economy.Tests.Settlement;

public sealed class ClearingSettlementTests
{
    private static readonly ResourceBundle One = ResourceBundle.Create(cpuMillicores: 1);

    private static ClearingResult Result() => new("critical-value",
        [new Allocation("b2", "x", One, Amount: 50, Payment: 30), new Allocation("a1", "y", One, Amount: 20, Payment: 0)],
        ["c3", "a0"], One.Scale(2), One.Scale(4));

    [Fact]
    public void Winners_post_their_payment_and_pay_the_treasury_losers_get_their_escrow_back_in_bid_id_order()
    {
        var ops = ClearingSettlement.Operations(Result(), cycle: 7);

        ops.ShouldBe(new LedgerOperation[]
        {
            new PendingResolution("bid:a0:settle", "bid:a0:escrow", Void: true, Cycle: 7, Memo: "critical-value: lost, escrow returned"),
            new PendingResolution("bid:a1:settle", "bid:a1:escrow", Void: false, Amount: 0, Cycle: 7, Memo: "critical-value: won, pays 0 of 20"),
            new PendingResolution("bid:b2:settle", "bid:b2:escrow", Void: false, Amount: 30, Cycle: 7, Memo: "critical-value: won, pays 30 of 50"),
            new TransferRequest("bid:b2:charge", AccountIds.Escrow, AccountIds.Treasury, 30, TransferKind.ClearingCharge, 7, "critical-value: payment for bid b2"),
            new PendingResolution("bid:c3:settle", "bid:c3:escrow", Void: true, Cycle: 7, Memo: "critical-value: lost, escrow returned"),
        });
    }

    [Fact]
    public void A_free_win_posts_zero_and_moves_nothing_to_the_treasury()
    {
        var ops = ClearingSettlement.Operations(Result());
        ops.OfType<TransferRequest>().Select(t => t.Id).ShouldBe(["bid:b2:charge"]);
    }

    [Fact]
    public void Custom_escrow_ids_are_used_when_given()
    {
        var ops = ClearingSettlement.Operations(Result(), escrowIdOf: id => "escrow-of-" + id);
        ops.OfType<PendingResolution>().Select(r => r.PendingId).ShouldBe(["escrow-of-a0", "escrow-of-a1", "escrow-of-b2", "escrow-of-c3"]);
    }

    [Fact]
    public void Settling_the_same_result_twice_gives_the_same_ids_so_a_replay_is_idempotent() =>
        ClearingSettlement.Operations(Result(), 3).ShouldBe(ClearingSettlement.Operations(Result(), 3));

    [Fact]
    public void A_payment_above_the_bid_is_refused_rather_than_charged()
    {
        var corrupt = Result() with { Winners = [new Allocation("z", "q", One, Amount: 5, Payment: 6)] };
        Should.Throw<ArgumentException>(() => ClearingSettlement.Operations(corrupt)).Message
            .ShouldStartWith("bid 'z': payment 6 is outside 0..5");
    }

    [Fact]
    public void Transfer_ids_follow_the_bid_convention()
    {
        BidTransferIds.Escrow("b1").ShouldBe("bid:b1:escrow");
        BidTransferIds.Settle("b1").ShouldBe("bid:b1:settle");
        BidTransferIds.Charge("b1").ShouldBe("bid:b1:charge");
    }
}
