namespace CyAgents.Economy.Settlement;

/// <summary>
/// The ledger transfer ids that belong to one bid. Deriving them from the bid id makes placing and settling a
/// bid idempotent: a retried placement or a re-run settlement reuses the same ids and changes nothing.
/// </summary>
public static class BidTransferIds
{
    /// <summary>The pending agent-to-escrow transfer that holds the bid's amount: <c>bid:&lt;bidId&gt;:escrow</c>.</summary>
    public static string Escrow(string bidId) => $"bid:{bidId}:escrow";

    /// <summary>The resolution (post or void) of the escrow at clearing: <c>bid:&lt;bidId&gt;:settle</c>.</summary>
    public static string Settle(string bidId) => $"bid:{bidId}:settle";

    /// <summary>The escrow-to-treasury transfer of a winner's payment: <c>bid:&lt;bidId&gt;:charge</c>.</summary>
    public static string Charge(string bidId) => $"bid:{bidId}:charge";

    /// <summary>The void of the escrow when its agent cancels the open bid: <c>bid:&lt;bidId&gt;:cancel</c>.</summary>
    public static string Cancel(string bidId) => $"bid:{bidId}:cancel";
}
