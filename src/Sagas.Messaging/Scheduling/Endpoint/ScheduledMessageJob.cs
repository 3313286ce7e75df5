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
public sealed class ScheduledMessageJob(IBus bus, ILogger<ScheduledMessageJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        var data = context.MergedJobDataMap;
        var destinationText = data.ReadString(ScheduledJobData.Destination);
        try
        {
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
            context.Headers.Set(MessageHeaders.Quartz.Sent, fire.FireTimeUtc);
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
