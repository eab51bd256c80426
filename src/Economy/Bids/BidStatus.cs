namespace CyAgents.Economy.Bids;

/// <summary>Life of a bid; <see cref="BidLifecycle"/> says which moves between these are legal.</summary>
public enum BidStatus
{
    /// <summary>Placed, escrowed, may be cancelled.</summary>
    Open = 0,
    /// <summary>Taken into a clearing; can no longer be cancelled.</summary>
    Frozen = 1,
    /// <summary>Won; escrow posted at the payment, the rest returned.</summary>
    Won = 2,
    /// <summary>Lost; escrow voided.</summary>
    Lost = 3,
    /// <summary>Cancelled by its agent before clearing; escrow voided.</summary>
    Cancelled = 4,
}
