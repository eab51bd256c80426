namespace CyAgents.Economy.Ledger;

/// <summary>
/// What an account is for. Only the treasury may go below zero: it is where credits enter
/// (endowments, rewards) and where charges return, so "all balances sum to zero" holds by construction.
/// </summary>
public enum AccountKind
{
    /// <summary>The single mint/burn account; may be negative.</summary>
    Treasury = 0,
    /// <summary>The single escrow account: credit side of every pending bid escrow.</summary>
    Escrow = 1,
    /// <summary>One per agent; never below zero.</summary>
    Agent = 2,
}

/// <summary>Well-known account ids. Amounts everywhere in the ledger are whole credits (<see cref="long"/>).</summary>
public static class AccountIds
{
    /// <summary>The treasury account id.</summary>
    public const string Treasury = "treasury";
    /// <summary>The escrow account id.</summary>
    public const string Escrow = "escrow";
    /// <summary>The account id of an agent.</summary>
    public static string ForAgent(string agentId) => "agent:" + agentId;
}

/// <summary>Why credits moved. Stored with every transfer for audit.</summary>
public enum TransferKind
{
    /// <summary>Treasury to agent: initial credits.</summary>
    Endowment = 0,
    /// <summary>Agent to escrow, pending: credits held for an open bid.</summary>
    BidEscrow = 1,
    /// <summary>Escrow to treasury: what a winner pays at clearing.</summary>
    ClearingCharge = 2,
    /// <summary>Back to an agent: corrections and returned charges.</summary>
    Refund = 3,
    /// <summary>Parent to child: the child's endowment.</summary>
    SpawnTransfer = 4,
    /// <summary>Parent to treasury: the fee for spawning.</summary>
    SpawnFee = 5,
    /// <summary>Treasury to agent: reward for a human prompt answered.</summary>
    HumanReward = 6,
    /// <summary>Agent to treasury: LLM tokens used beyond the won bundle.</summary>
    TokenCharge = 7,
    /// <summary>Agent to agent: a gift or trade (simulations).</summary>
    Gift = 8,
    /// <summary>Treasury to treasury-side accounts: explicit operator adjustment.</summary>
    Adjustment = 9,
    /// <summary>
    /// Treasury to agent: the clearing charge of an execution the host ended (abandoned at recovery, launch failed, engine
    /// lost), returned because the agent never got the window it paid for (ADR 0085).
    /// </summary>
    HostFaultRefund = 10,
    /// <summary>Poster to escrow, pending: a task's reward held from the moment it is posted until it is awarded or returned.</summary>
    TaskEscrow = 11,
    /// <summary>Escrow to agent: a task's reward paid to the submitter of the first verified work (ADR 0132).</summary>
    TaskReward = 12,
    /// <summary>Escrow to poster: a task's reward returned because its deadline passed unawarded (ADR 0132).</summary>
    TaskReturn = 13,
}

/// <summary>State of a transfer. Posted transfers are final; pending ones are resolved exactly once.</summary>
public enum TransferState
{
    /// <summary>Final: the amount has moved.</summary>
    Posted = 0,
    /// <summary>Reserved: counted against the debit account's available balance, not yet moved.</summary>
    Pending = 1,
    /// <summary>A pending transfer that has been posted (fully or in part) by a later resolution.</summary>
    PendingPosted = 2,
    /// <summary>A pending transfer that has been voided: nothing moved.</summary>
    PendingVoided = 3,
}

/// <summary>One item of a linked batch: a <see cref="TransferRequest"/> or a <see cref="PendingResolution"/>.</summary>
/// <param name="Id">Caller-chosen idempotency key of the operation.</param>
public abstract record LedgerOperation(string Id);

/// <summary>
/// A request to move credits. <see cref="LedgerOperation.Id"/> is chosen by the caller and is an idempotency key:
/// the same id with the same fields returns the first result; with other fields it is an error.
/// </summary>
/// <param name="Id">Caller-chosen unique id (1–128 characters).</param>
/// <param name="DebitAccountId">Account the credits leave.</param>
/// <param name="CreditAccountId">Account the credits enter.</param>
/// <param name="Amount">Whole credits, &gt; 0.</param>
/// <param name="Kind">Why the credits move.</param>
/// <param name="Cycle">The allocation cycle, when there is one.</param>
/// <param name="Memo">Free text for the audit trail (up to 256 characters).</param>
/// <param name="Pending">True to reserve (two-phase) instead of moving now.</param>
public sealed record TransferRequest(
    string Id,
    string DebitAccountId,
    string CreditAccountId,
    long Amount,
    TransferKind Kind,
    long? Cycle = null,
    string? Memo = null,
    bool Pending = false) : LedgerOperation(Id);

/// <summary>
/// Resolves a pending transfer exactly once. <see cref="Amount"/> null posts in full; a smaller amount posts
/// in part and the rest returns to the debit account; <see cref="Void"/> returns all of it.
/// <see cref="LedgerOperation.Id"/> is an idempotency key like a transfer id.
/// </summary>
/// <param name="Id">Caller-chosen id of the resolution.</param>
/// <param name="PendingId">The pending transfer being resolved.</param>
/// <param name="Void">True to void.</param>
/// <param name="Amount">Amount to post (0 &lt;= amount &lt;= pending amount); null for the full amount.</param>
/// <param name="Cycle">The allocation cycle, when there is one.</param>
/// <param name="Memo">Free text for the audit trail.</param>
public sealed record PendingResolution(string Id, string PendingId, bool Void, long? Amount = null, long? Cycle = null, string? Memo = null)
    : LedgerOperation(Id);

/// <summary>One recorded, immutable transfer.</summary>
/// <param name="Id">The transfer id.</param>
/// <param name="Sequence">Position in the ledger's total order (1, 2, ...).</param>
/// <param name="DebitAccountId">Account the credits left.</param>
/// <param name="CreditAccountId">Account the credits entered.</param>
/// <param name="Amount">Credits moved or reserved.</param>
/// <param name="Kind">Why.</param>
/// <param name="State">Posted, pending, or how a pending transfer was resolved.</param>
/// <param name="Cycle">Cycle, when there is one.</param>
/// <param name="Memo">Audit text.</param>
/// <param name="PendingId">For a resolution, the pending transfer it resolves.</param>
/// <param name="PostedAmount">For a resolved pending transfer, how much was posted.</param>
public sealed record Transfer(
    string Id,
    long Sequence,
    string DebitAccountId,
    string CreditAccountId,
    long Amount,
    TransferKind Kind,
    TransferState State,
    long? Cycle,
    string? Memo,
    string? PendingId = null,
    long? PostedAmount = null);

/// <summary>Balance of one account. For agents <see cref="Available"/> never goes below zero.</summary>
/// <param name="AccountId">The account.</param>
/// <param name="Posted">Credits posted in minus credits posted out.</param>
/// <param name="Reserved">Credits held by pending transfers out of this account.</param>
/// <param name="Incoming">Credits held by pending transfers into this account.</param>
public sealed record AccountBalance(string AccountId, long Posted, long Reserved, long Incoming)
{
    /// <summary>What the account can still spend: posted minus reserved.</summary>
    public long Available => Posted - Reserved;
}

/// <summary>Outcome of a conservation check over the whole ledger.</summary>
/// <param name="SumOfPosted">Sum of every account's posted balance; zero when double entry holds.</param>
/// <param name="SumOfPendingOut">Sum of reserved amounts over accounts.</param>
/// <param name="SumOfPendingIn">Sum of incoming pending amounts over accounts; equals <paramref name="SumOfPendingOut"/>.</param>
/// <param name="NegativeAgentAccounts">Agent or escrow accounts whose available balance is below zero (must be empty).</param>
/// <param name="TreasuryIssued">Credits outstanding from the treasury (minus its posted balance).</param>
/// <param name="TransfersMatchBalances">True when replaying the transfer log gives the stored balances.</param>
public sealed record ConservationReport(
    long SumOfPosted,
    long SumOfPendingOut,
    long SumOfPendingIn,
    IReadOnlyList<string> NegativeAgentAccounts,
    long TreasuryIssued,
    bool TransfersMatchBalances)
{
    /// <summary>True when every invariant holds.</summary>
    public bool Holds => SumOfPosted == 0 && SumOfPendingOut == SumOfPendingIn &&
                         NegativeAgentAccounts.Count == 0 && TransfersMatchBalances;

    /// <summary>
    /// False when the ledger keeps no full transfer log (an in-memory ledger without history) and
    /// <see cref="TransfersMatchBalances"/> could not be checked by replay.
    /// </summary>
    public bool LogReplayed { get; init; } = true;
}

/// <summary>Stable error codes of the ledger; the API maps them to problem details.</summary>
public enum LedgerError
{
    /// <summary>Amount zero, negative, or too large.</summary>
    InvalidAmount,
    /// <summary>A named account does not exist.</summary>
    UnknownAccount,
    /// <summary>Debit and credit account are the same.</summary>
    SameAccount,
    /// <summary>The id was used before with different fields.</summary>
    IdConflict,
    /// <summary>The debit account's available balance does not cover the amount.</summary>
    InsufficientFunds,
    /// <summary>The pending transfer named does not exist or is not pending-kind.</summary>
    PendingNotFound,
    /// <summary>The pending transfer was already posted or voided.</summary>
    PendingAlreadyResolved,
    /// <summary>A partial post asks for more than was reserved.</summary>
    PostExceedsPending,
    /// <summary>An id, memo or field is malformed.</summary>
    InvalidRequest,
    /// <summary>The account already exists with another kind.</summary>
    AccountConflict,
}

/// <summary>Thrown by ledger operations; nothing was changed when it is thrown.</summary>
public sealed class LedgerException(LedgerError error, string message) : Exception(message)
{
    /// <summary>The stable error code.</summary>
    public LedgerError Error { get; } = error;
}
