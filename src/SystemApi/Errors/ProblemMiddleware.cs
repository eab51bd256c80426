using CyAgents.Contracts;
using CyAgents.SystemApi.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Errors;

/// <summary>
/// Turns what escapes an endpoint into problem details: oversized bodies (413), request targets and headers beyond the
/// API's limits (414, 431), unreadable or non-strict JSON (400), a body that is not JSON (415) and anything unexpected
/// (500, logged). Bodies above the limit are refused before they are read. Kestrel's own limits sit above the API's
/// (see <see cref="Listeners"/>), so a request between the two is answered here, with a code, instead of by Kestrel's
/// empty-bodied error.
/// </summary>
internal sealed class ProblemMiddleware(RequestDelegate next, IOptions<SystemApiOptions> options, ILogger<ProblemMiddleware> log)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var o = options.Value;
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        var target = string.IsNullOrEmpty(raw) ? context.Request.PathBase.Value + context.Request.Path.Value + context.Request.QueryString.Value : raw;
        if (target.Length > o.MaxRequestTargetLength)
        {
            await Problems.WriteAsync(context, StatusCodes.Status414UriTooLong, ErrorCodes.UriTooLong,
                $"the request target is {target.Length} characters; the limit is {o.MaxRequestTargetLength}");
            return;
        }
        if (HeaderProblem(context.Request.Headers, o) is { } headers)
        {
            await Problems.WriteAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge, ErrorCodes.HeadersTooLarge, headers);
            return;
        }
        var limit = o.MaxRequestBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            await Problems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, ErrorCodes.BodyTooLarge,
                $"the request body is {context.Request.ContentLength} bytes; the limit is {limit} bytes");
            return;
        }
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            var (status, code, detail) = e.StatusCode switch
            {
                StatusCodes.Status413PayloadTooLarge => (e.StatusCode, ErrorCodes.BodyTooLarge, $"the request body exceeds {limit} bytes"),
                StatusCodes.Status415UnsupportedMediaType => (e.StatusCode, ErrorCodes.UnsupportedMediaType,
                    $"the request body must be sent as application/json (got '{context.Request.ContentType}')"),
                // A JSON body that could not be read (malformed, duplicate keys, a number sent as a string, an unknown
                // or missing property) is the client's field-level mistake.
                _ when e.InnerException is System.Text.Json.JsonException json => (StatusCodes.Status400BadRequest, ErrorCodes.Validation,
                    "the request body could not be read: " + json.Message),
                >= 400 and < 500 and not StatusCodes.Status400BadRequest => (e.StatusCode, Problems.CodeOf(e.StatusCode), e.Message),
                _ => (StatusCodes.Status400BadRequest, ErrorCodes.Validation,
                    "the request could not be read: " + (e.InnerException?.Message ?? e.Message)),
            };
            await Problems.WriteAsync(context, status, code, detail);
        }
        catch (Exception e) when (!context.Response.HasStarted && e is not OperationCanceledException)
        {
            log.LogError(e, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            await Problems.WriteAsync(context, StatusCodes.Status500InternalServerError, ErrorCodes.Internal,
                "an unexpected error occurred; nothing was changed");
        }
    }

    private static string? HeaderProblem(IHeaderDictionary headers, SystemApiOptions o)
    {
        if (headers.Count > o.MaxRequestHeaderCount)
            return $"the request has {headers.Count} headers; the limit is {o.MaxRequestHeaderCount}";
        long bytes = 0;
        foreach (var (name, values) in headers)
        {
            bytes += name.Length + 4;
            foreach (var v in values) bytes += v?.Length ?? 0;
        }
        return bytes > o.MaxRequestHeadersBytes ? $"the request headers are {bytes} bytes; the limit is {o.MaxRequestHeadersBytes}" : null;
    }
}
