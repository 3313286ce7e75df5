using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Sagas.Api.Infrastructure;

/// <summary>
/// Every failure leaves as ProblemDetails: client mistakes (malformed JSON, wrong types, oversized bodies) with their
/// 4xx status and a reason, server faults as a 500 that reveals nothing but a trace id.
/// </summary>
public sealed class ProblemDetailsExceptionHandler(IProblemDetailsService problems, ILogger<ProblemDetailsExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            BadHttpRequestException bad when bad.StatusCode == StatusCodes.Status413PayloadTooLarge =>
                (StatusCodes.Status413PayloadTooLarge, "Request body too large", bad.Message),
            BadHttpRequestException { InnerException: JsonException json } =>
                (StatusCodes.Status400BadRequest, "Malformed JSON", DescribeJson(json)),
            BadHttpRequestException bad => (bad.StatusCode, "Bad request", bad.Message),
            JsonException json => (StatusCodes.Status400BadRequest, "Malformed JSON", DescribeJson(json)),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested =>
                (499, "Client closed request", null),
            _ => (StatusCodes.Status500InternalServerError, "Unexpected error", "The error has been logged with the trace id below."),
        };

        if (status >= 500)
            logger.LogError(exception, "Unhandled exception for {Method} {Path}", httpContext.Request.Method, httpContext.Request.Path);
        if (httpContext.Response.HasStarted || status == 499)
            return status == 499;

        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }

    // The path and position tell a client exactly what to fix; the message of a JsonException may echo input, so it is not used.
    private static string DescribeJson(JsonException json) =>
        json.Path is { Length: > 0 } path
            ? $"The JSON body could not be read at '{path}' (line {json.LineNumber + 1}, byte {json.BytePositionInLine}): a value is missing, malformed or of the wrong type."
            : "The body is not valid JSON.";
}
