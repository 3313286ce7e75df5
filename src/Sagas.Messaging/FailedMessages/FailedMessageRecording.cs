using System.Security.Cryptography;
using System.Text.Json;
using MassTransit;
using MassTransit.Middleware;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sagas.Messaging.FailedMessages;

/// <summary>
/// Puts <see cref="FailedMessageRecordingFilter"/> on the error pipe of every receive endpoint of the bus it is connected
/// to. MassTransit calls an endpoint configuration observer for each endpoint after its own configuration, whether it
/// came from <c>ConfigureEndpoints</c> or an explicit <c>ReceiveEndpoint</c>.
/// </summary>
public sealed class FailedMessageRecording(IServiceProvider services) : IEndpointConfigurationObserver
{
    public void EndpointConfigured<T>(T configurator)
        where T : IReceiveEndpointConfigurator
    {
        // Configuring the error pipe replaces MassTransit's default one (generate the Fault event, move to _error)
        // instead of extending it, so both default filters are put back around ours: the move stays as it was.
        configurator.ConfigureError(error =>
        {
            error.UseFilter(new GenerateFaultFilter());
            error.UseFilter(new FailedMessageRecordingFilter(services));
            error.UseFilter(new ErrorTransportFilter());
        });
    }
}

/// <summary>
/// Records a message whose retries ran out before it moves to the <c>_error</c> queue. Recording never stands in the
/// way of the move: if the database cannot take the row the message still goes to the error queue (and the failure is
/// logged), because losing the index entry is better than keeping a poison message in the input queue.
/// </summary>
public sealed class FailedMessageRecordingFilter(IServiceProvider services) : IFilter<ExceptionReceiveContext>
{
    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        try
        {
            await using var scope = services.CreateAsyncScope();
            // Processes built without persistence (some test hosts) have no recorder: nothing to write to.
            if (scope.ServiceProvider.GetService<FailedMessageRecorder>() is { } recorder)
                await recorder.RecordAsync(Capture(context), context.CancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !context.CancellationToken.IsCancellationRequested)
        {
            services.GetService<ILogger<FailedMessageRecordingFilter>>()?.LogError(
                exception,
                "Could not record failed message {MessageId} on {InputAddress}; it still moves to the error queue",
                context.GetMessageId(),
                context.InputAddress);
        }

        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("recordFailedMessage");

    public static FailedMessageFault Capture(ExceptionReceiveContext context)
    {
        var body = context.Body.GetBytes() ?? [];
        context.TryGetPayload(out ConsumeContext? consumed);
        var exception = context.Exception;
        return new FailedMessageFault(
            consumed?.MessageId ?? context.GetMessageId() ?? IdFromBody(body),
            consumed?.SupportedMessageTypes.ToList() ?? EnvelopeMessageTypes(body),
            QueueOf(context.InputAddress),
            exception.GetType().FullName ?? exception.GetType().Name,
            exception.Message,
            exception.StackTrace,
            new DateTimeOffset(DateTime.SpecifyKind(context.ExceptionTimestamp, DateTimeKind.Utc)),
            body,
            context.ContentType?.ToString() ?? "application/vnd.masstransit+json",
            RedeliveryHeaders.Select(context.TransportHeaders.GetAll()));
    }

    /// <summary>The queue name is the last path segment on every transport (loopback://, rabbitmq://host/vhost/…).</summary>
    public static string QueueOf(Uri inputAddress) =>
        inputAddress.AbsolutePath.TrimEnd('/').Split('/')[^1] is { Length: > 0 } name ? Uri.UnescapeDataString(name) : inputAddress.ToString();

    /// <summary>
    /// A consumer's fault reaches the error pipe without the consume context (MassTransit only leaves it there when
    /// the receive pipe itself added it), so the types are read from the envelope: every message this system sends is
    /// a MassTransit JSON envelope. Any other body, or one that is not JSON at all, has no types to show.
    /// </summary>
    public static IReadOnlyList<string> EnvelopeMessageTypes(byte[] body)
    {
        try
        {
            using var envelope = JsonDocument.Parse(body);
            if (envelope.RootElement.ValueKind == JsonValueKind.Object
                && envelope.RootElement.TryGetProperty("messageType", out var types)
                && types.ValueKind == JsonValueKind.Array)
            {
                return [.. types.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!)];
            }
        }
        catch (JsonException)
        {
            // Not JSON: the fault is likely the very reason (a body no serializer could read).
        }

        return [];
    }

    // A body no serializer could read may carry no message id at all; the same bytes still have to land on one row.
    private static Guid IdFromBody(byte[] body) => new(SHA256.HashData(body).AsSpan(0, 16));
}
