namespace CyAgents.Economy.Bids;

/// <summary>
/// The legal moves of a bid, written once. A bid is placed <see cref="BidStatus.Open"/>; its agent may cancel it while it
/// is open; a clearing freezes it; settlement makes a frozen bid <see cref="BidStatus.Won"/> or <see cref="BidStatus.Lost"/>;
/// crash recovery returns a frozen bid whose settlement never committed to the book. Won, Lost and Cancelled are final,
/// because their escrow has been posted or voided and a pending transfer resolves exactly once.
/// </summary>
public static class BidLifecycle
{
    /// <summary>Every legal move, in the order a bid's life runs.</summary>
    public static IReadOnlyList<(BidStatus From, BidStatus To)> Transitions { get; } =
    [
        (BidStatus.Open, BidStatus.Frozen),
        (BidStatus.Open, BidStatus.Cancelled),
        (BidStatus.Frozen, BidStatus.Won),
        (BidStatus.Frozen, BidStatus.Lost),
        (BidStatus.Frozen, BidStatus.Open),
    ];

    /// <summary>Whether a bid in <paramref name="from"/> may move to <paramref name="to"/>.</summary>
    public static bool CanMove(BidStatus from, BidStatus to) => Transitions.Contains((from, to));

    /// <summary>Whether a bid in <paramref name="status"/> has reached the end of its life.</summary>
    public static bool IsFinal(BidStatus status) => !Transitions.Any(t => t.From == status);

    /// <summary>Throws <see cref="BidTransitionRefusedException"/> unless the move is legal.</summary>
    public static void Require(string bidId, BidStatus from, BidStatus to)
    {
        if (!CanMove(from, to)) throw new BidTransitionRefusedException(bidId, from, to);
    }
}

/// <summary>A bid was asked to make a move its lifecycle forbids (e.g. cancel a frozen bid, win an open one).</summary>
public sealed class BidTransitionRefusedException(string bidId, BidStatus from, BidStatus to)
    : InvalidOperationException($"bid '{bidId}' is {from}; it cannot become {to}")
{
    /// <summary>The bid.</summary>
    public string BidId { get; } = bidId;
    /// <summary>Where the bid is.</summary>
    public BidStatus From { get; } = from;
    /// <summary>Where it was asked to go.</summary>
    public BidStatus To { get; } = to;
}
