using CyAgents.Contracts;
using CyAgents.Economy.Ledger;

namespace CyAgents.SystemApi.Errors;

/// <summary>
/// Why a write changed nothing, in the API's terms but free of any transport: a stable code from <see cref="ErrorCodes"/>,
/// a message for the caller and, for validation, the offending fields. <see cref="Problems.From(Refusal)"/> turns it into
/// an RFC 7807 answer.
/// </summary>
/// <param name="Code">One of <see cref="ErrorCodes"/>.</param>
/// <param name="Message">What went wrong, for the caller.</param>
/// <param name="Fields">Field-by-field messages of a validation refusal; null otherwise.</param>
public sealed record Refusal(string Code, string Message, IReadOnlyDictionary<string, string[]>? Fields = null)
{
    /// <summary>The thing asked for does not exist (or is not the caller's business).</summary>
    public static Refusal NotFound(string message) => new(ErrorCodes.NotFound, message);

    /// <summary>The caller may not do this.</summary>
    public static Refusal Forbidden(string message) => new(ErrorCodes.Forbidden, message);

    /// <summary>The request contradicts the current state or an earlier request.</summary>
    public static Refusal Conflict(string message) => new(ErrorCodes.Conflict, message);

    /// <summary>The paying account has too few credits.</summary>
    public static Refusal InsufficientFunds(string message) => new(ErrorCodes.InsufficientFunds, message);

    /// <summary>Invalid fields.</summary>
    public static Refusal Validation(IReadOnlyDictionary<string, string[]> fields) =>
        new(ErrorCodes.Validation, string.Join("; ", fields.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")), fields);

    /// <summary>One invalid field.</summary>
    public static Refusal Validation(string field, string message) =>
        Validation(new Dictionary<string, string[]> { [field] = [message] });

    /// <summary>A ledger refusal (the ledger changed nothing when it threw).</summary>
    public static Refusal FromLedger(LedgerException e) => e.Error switch
    {
        LedgerError.InsufficientFunds => InsufficientFunds(e.Message),
        LedgerError.UnknownAccount => NotFound(e.Message),
        LedgerError.IdConflict or LedgerError.PendingAlreadyResolved or LedgerError.AccountConflict => Conflict(e.Message),
        LedgerError.PendingNotFound => NotFound(e.Message),
        _ => Validation("amount", e.Message),
    };
}
