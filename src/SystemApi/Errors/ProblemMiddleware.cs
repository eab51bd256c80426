using CyAgents.Contracts;
using CyAgents.SystemApi.Hosting;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Errors;

/// <summary>
/// Turns what escapes an endpoint into problem details: oversized bodies (413), unreadable JSON (400) and
/// anything unexpected (500, logged). Bodies above the limit are refused before they are read.
/// </summary>
internal sealed class ProblemMiddleware(RequestDelegate next, IOptions<SystemApiOptions> options, ILogger<ProblemMiddleware> log)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var limit = options.Value.MaxRequestBodyBytes;
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
            if (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
                await Problems.WriteAsync(context, e.StatusCode, ErrorCodes.BodyTooLarge, $"the request body exceeds {limit} bytes");
            else
                await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.Validation,
                    "the request body could not be read: " + (e.InnerException?.Message ?? e.Message));
        }
        catch (Exception e) when (!context.Response.HasStarted && e is not OperationCanceledException)
        {
            log.LogError(e, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            await Problems.WriteAsync(context, StatusCodes.Status500InternalServerError, ErrorCodes.Internal,
                "an unexpected error occurred; nothing was changed");
        }
    }
}
