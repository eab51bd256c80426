using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace CyAgents.SystemApi.Errors;

/// <summary>RFC 7807 problem details with the stable <c>code</c> extension (see <see cref="ErrorCodes"/>).</summary>
public static class Problems
{
    /// <summary>The type URI of a code.</summary>
    public static string TypeOf(string code) => "urn:cyagents:problem:" + code;

    /// <summary>Short human title of a code.</summary>
    public static string TitleOf(string code) => code switch
    {
        ErrorCodes.Validation => "The request is not valid",
        ErrorCodes.Unauthenticated => "Authentication required",
        ErrorCodes.Forbidden => "Not allowed for this token",
        ErrorCodes.NotFound => "Not found",
        ErrorCodes.InsufficientFunds => "Insufficient funds",
        ErrorCodes.Conflict => "Conflict",
        ErrorCodes.BodyTooLarge => "Request body too large",
        ErrorCodes.BundleExceedsSupply => "Bundle larger than supply",
        ErrorCodes.SpawnLimit => "Spawn limit reached",
        ErrorCodes.RateLimited => "Too many requests",
        ErrorCodes.TokenBudgetExceeded => "Token budget exceeded",
        ErrorCodes.LlmProviderFailed => "LLM provider failed",
        ErrorCodes.MethodNotAllowed => "Method not allowed",
        ErrorCodes.UnsupportedMediaType => "Unsupported media type",
        ErrorCodes.UriTooLong => "Request target too long",
        ErrorCodes.HeadersTooLarge => "Request headers too large",
        ErrorCodes.BadRequest => "Malformed request",
        ErrorCodes.AttentionExhausted => "Attention exhausted",
        ErrorCodes.AgentRetired => "Agent retired",
        ErrorCodes.TaskClosed => "Task closed",
        ErrorCodes.SubmissionRefused => "Submission refused",
        ErrorCodes.SubmissionLimit => "Submission limit reached",
        _ => "Unexpected error",
    };

    /// <summary>The code that goes with a bare HTTP status (for responses produced by the framework).</summary>
    public static string CodeOf(int status) => status switch
    {
        400 => ErrorCodes.Validation,
        401 => ErrorCodes.Unauthenticated,
        403 => ErrorCodes.Forbidden,
        404 => ErrorCodes.NotFound,
        405 => ErrorCodes.MethodNotAllowed,
        414 => ErrorCodes.UriTooLong,
        415 => ErrorCodes.UnsupportedMediaType,
        431 => ErrorCodes.HeadersTooLarge,
        402 => ErrorCodes.InsufficientFunds,
        409 => ErrorCodes.Conflict,
        413 => ErrorCodes.BodyTooLarge,
        429 => ErrorCodes.RateLimited,
        _ => ErrorCodes.Internal,
    };

    /// <summary>A problem result for a handler.</summary>
    public static ProblemHttpResult Result(int status, string code, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: TitleOf(code), type: TypeOf(code),
            extensions: new Dictionary<string, object?> { ["code"] = code });

    /// <summary>404 not_found.</summary>
    public static ProblemHttpResult NotFound(string detail) => Result(StatusCodes.Status404NotFound, ErrorCodes.NotFound, detail);

    /// <summary>403 forbidden.</summary>
    public static ProblemHttpResult Forbidden(string detail) => Result(StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, detail);

    /// <summary>409 conflict.</summary>
    public static ProblemHttpResult Conflict(string detail) => Result(StatusCodes.Status409Conflict, ErrorCodes.Conflict, detail);

    /// <summary>402 insufficient_funds.</summary>
    public static ProblemHttpResult InsufficientFunds(string detail) =>
        Result(StatusCodes.Status402PaymentRequired, ErrorCodes.InsufficientFunds, detail);

    /// <summary>400 validation, field by field.</summary>
    public static ProblemHttpResult Validation(IDictionary<string, string[]> errors)
    {
        var problem = new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status400BadRequest,
            Title = TitleOf(ErrorCodes.Validation),
            Type = TypeOf(ErrorCodes.Validation),
            Detail = string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")),
        };
        problem.Extensions["code"] = ErrorCodes.Validation;
        return TypedResults.Problem(problem);
    }

    /// <summary>400 validation for one field.</summary>
    public static ProblemHttpResult Validation(string field, string message) =>
        Validation(new Dictionary<string, string[]> { [field] = [message] });

    /// <summary>Maps a ledger refusal to a problem (nothing was changed when the ledger threw).</summary>
    public static ProblemHttpResult FromLedger(LedgerException e) => From(Refusal.FromLedger(e));

    /// <summary>The problem answer of a refusal: its code decides the status; validation refusals list their fields.</summary>
    public static ProblemHttpResult From(Refusal refusal) => refusal.Fields is { } fields
        ? Validation(fields.ToDictionary(f => f.Key, f => f.Value))
        : Result(StatusOf(refusal.Code), refusal.Code, refusal.Message);

    /// <summary>The HTTP status that answers a code (the inverse of <see cref="CodeOf"/> where that is defined).</summary>
    public static int StatusOf(string code) => code switch
    {
        ErrorCodes.Validation or ErrorCodes.BadRequest => StatusCodes.Status400BadRequest,
        ErrorCodes.MethodNotAllowed => StatusCodes.Status405MethodNotAllowed,
        ErrorCodes.UnsupportedMediaType => StatusCodes.Status415UnsupportedMediaType,
        ErrorCodes.UriTooLong => StatusCodes.Status414UriTooLong,
        ErrorCodes.HeadersTooLarge => StatusCodes.Status431RequestHeaderFieldsTooLarge,
        ErrorCodes.Unauthenticated => StatusCodes.Status401Unauthorized,
        ErrorCodes.InsufficientFunds => StatusCodes.Status402PaymentRequired,
        ErrorCodes.Forbidden or ErrorCodes.AgentRetired => StatusCodes.Status403Forbidden,
        ErrorCodes.NotFound => StatusCodes.Status404NotFound,
        ErrorCodes.Conflict or ErrorCodes.TaskClosed => StatusCodes.Status409Conflict,
        ErrorCodes.BodyTooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorCodes.BundleExceedsSupply or ErrorCodes.SpawnLimit or ErrorCodes.TokenBudgetExceeded or ErrorCodes.AttentionExhausted
            or ErrorCodes.SubmissionRefused or ErrorCodes.SubmissionLimit => StatusCodes.Status422UnprocessableEntity,
        ErrorCodes.RateLimited => StatusCodes.Status429TooManyRequests,
        ErrorCodes.LlmProviderFailed => StatusCodes.Status502BadGateway,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>Writes a problem outside an endpoint (authentication, rate limiter, middleware).</summary>
    public static async Task WriteAsync(HttpContext context, int status, string code, string detail)
    {
        context.Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Title = TitleOf(code), Type = TypeOf(code), Detail = detail };
        problem.Extensions["code"] = code;
        var service = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await service.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }
}
