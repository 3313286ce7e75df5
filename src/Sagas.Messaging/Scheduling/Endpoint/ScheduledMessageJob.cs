using System.Net.Mime;
using MassTransit;
using MassTransit.Serialization;
using Microsoft.Extensions.Logging;
using Quartz;

namespace Sagas.Messaging.Scheduling.Endpoint;

/// <summary>
/// Fires one scheduled message: sends the envelope stored when it was scheduled, byte for byte in its payload, with
/// the original message id, conversation, correlation, addresses and headers, plus the scheduling token that lets a
/// state machine drop a stale timeout and the MT-Quartz-* headers describing this fire.
/// </summary>
/// <remarks>The job type name is stored in the Quartz tables: renaming or moving it orphans stored schedules.</remarks>
public sealed class ScheduledMessageJob(IBus bus, RunningFires fires, ILogger<ScheduledMessageJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        using var running = fires.Enter();
        var data = context.MergedJobDataMap;
        var destinationText = data.ReadString(ScheduledJobData.Destination);
        try
        {
            if (await HoldUntilDueAsync(context, cancellationToken) && !await IsStillScheduledAsync(context, cancellationToken))
            {
                logger.LogDebug("Scheduled {Job} was cancelled or paused while its early fire waited for {Due:O}; not sent", context.JobDetail.Key, context.ScheduledFireTimeUtc);
                return;
            }

            var destination = new Uri(destinationText ?? throw new InvalidOperationException("the job has no destination"));
            var endpoint = await bus.GetSendEndpoint(destination);
            await endpoint.Send(new ScheduledDelivery(), new ForwardStoredMessage(context, destination), cancellationToken);
            logger.LogDebug("Delivered scheduled {Job} to {Destination}; next fire {Next:O}", context.JobDetail.Key, destination, context.NextFireTimeUtc);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Thrown on: the trigger's retry policy (ScheduledJobData.SendRetryPolicy) fires the occurrence again later.
            logger.LogError(exception, "Scheduled {Job} ({PayloadType}) could not be sent to {Destination} (retry {Attempt})",
                context.JobDetail.Key, data.ReadString(ScheduledJobData.PayloadType), destinationText, context.RetryAttempt);
            throw;
        }
    }

    // Quartz fires a batch of triggers together, up to Scheduling:FireAhead before the later ones are due; the send
    // waits here for its own due time. Quartz's clock is the system's, so this one is too (a test's fake clock would
    // hold forever); the loop guards against a timer waking a little before the wall clock.
    private static async Task<bool> HoldUntilDueAsync(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        if (context.ScheduledFireTimeUtc is not { } due)
            return false;

        var held = false;
        for (var wait = due - DateTimeOffset.UtcNow; wait > TimeSpan.Zero; wait = due - DateTimeOffset.UtcNow)
        {
            held = true;
            await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, cancellationToken);
        }

        return held;
    }

    // A cancel or pause that arrived while the fire waited removed or paused the trigger in the store; what fired
    // ahead must honour it as a trigger still waiting would have. A fired trigger stays in the store, executing, until
    // this job returns, so "gone" means cancelled.
    private static async Task<bool> IsStillScheduledAsync(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var state = await context.Scheduler.GetTriggerState(context.Trigger.Key, cancellationToken);
        return state is not (TriggerState.None or TriggerState.Paused);
    }

    /// <summary>Placeholder message type: the serializer below writes the stored envelope instead of this object.</summary>
    private sealed class ScheduledDelivery;

    private sealed class ForwardStoredMessage(IJobExecutionContext fire, Uri destination) : IPipe<SendContext>
    {
        public Task Send(SendContext context)
        {
            var data = fire.MergedJobDataMap;
            var contentType = new ContentType(data.ReadString(ScheduledJobData.ContentType) ?? SystemTextJsonMessageSerializer.JsonContentType.ToString());
            var deserializer = context.Serialization.GetMessageDeserializer(contentType);
            var body = deserializer.GetMessageBody(data.ReadString(ScheduledJobData.Body) ?? "");
            var headers = new DictionarySendHeaders();
            foreach (var (key, value) in ScheduledJobData.DeserializeHeaders(data.ReadString(ScheduledJobData.Headers)))
                headers.Set(key, value);

            var stored = deserializer.Deserialize(body, headers, destination);

            // A recurring schedule has no stored id: every fire is a new message.
            context.MessageId = data.ReadGuid(ScheduledJobData.MessageId) ?? NewId.NextGuid();
            context.CorrelationId = data.ReadGuid(ScheduledJobData.CorrelationId);
            context.ConversationId = data.ReadGuid(ScheduledJobData.ConversationId);
            context.InitiatorId = data.ReadGuid(ScheduledJobData.InitiatorId);
            context.RequestId = data.ReadGuid(ScheduledJobData.RequestId);
            context.SourceAddress = data.ReadUri(ScheduledJobData.SourceAddress);
            context.ResponseAddress = data.ReadUri(ScheduledJobData.ResponseAddress);
            context.FaultAddress = data.ReadUri(ScheduledJobData.FaultAddress);
            if (data.ReadDateTime(ScheduledJobData.ExpirationTime) is { } expires)
                context.TimeToLive = expires.ToUniversalTime() - DateTime.UtcNow is var left && left > TimeSpan.Zero ? left : TimeSpan.FromSeconds(1);

            foreach (var (key, value) in headers.GetAll())
                context.Headers.Set(key, value);

            if (data.ReadGuid(ScheduledJobData.TokenId) is { } token)
                context.Headers.Set(MessageHeaders.SchedulingTokenId, token.ToString("D"));
            // The instant it leaves, not Quartz's fire time: a fire ahead of its due time waited in between.
            context.Headers.Set(MessageHeaders.Quartz.Sent, DateTimeOffset.UtcNow);
            if (fire.ScheduledFireTimeUtc is { } scheduled)
                context.Headers.Set(MessageHeaders.Quartz.Scheduled, scheduled);
            if (fire.NextFireTimeUtc is { } next)
                context.Headers.Set(MessageHeaders.Quartz.NextScheduled, next);
            if (fire.PreviousFireTimeUtc is { } previous)
                context.Headers.Set(MessageHeaders.Quartz.PreviousSent, previous);
            context.Headers.Set(MessageHeaders.Quartz.ScheduleId, fire.JobDetail.Key.Name);
            context.Headers.Set(MessageHeaders.Quartz.ScheduleGroup, fire.JobDetail.Key.Group);
            context.Headers.Set(MessageHeaders.QuartzTriggerKey, fire.Trigger.Key.ToString());

            context.Serializer = stored.GetMessageSerializer();
            return Task.CompletedTask;
        }

        public void Probe(ProbeContext context) => context.CreateFilterScope("forward-scheduled-message");
    }
}
