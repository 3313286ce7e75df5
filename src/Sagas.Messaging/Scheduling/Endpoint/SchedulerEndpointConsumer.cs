using System.Text.Json;
using MassTransit;
using MassTransit.Context;
using MassTransit.Scheduling;
using Microsoft.Extensions.Logging;
using Quartz;

namespace Sagas.Messaging.Scheduling.Endpoint;

/// <summary>
/// The scheduler queue: turns MassTransit's scheduling contracts into Quartz jobs and triggers. One job and one
/// trigger per schedule; a one-off schedule is keyed by its scheduling token, so scheduling again with the same
/// token replaces the earlier request and cancelling by token removes it.
/// </summary>
public sealed class SchedulerEndpointConsumer(ISchedulerFactory schedulers, ILogger<SchedulerEndpointConsumer> logger) :
    IConsumer<ScheduleMessage>,
    IConsumer<CancelScheduledMessage>,
    IConsumer<ScheduleRecurringMessage>,
    IConsumer<CancelScheduledRecurringMessage>,
    IConsumer<PauseScheduledRecurringMessage>,
    IConsumer<ResumeScheduledRecurringMessage>
{
    public async Task Consume(ConsumeContext<ScheduleMessage> context)
    {
        var request = context.Message;
        var describe = $"ScheduleMessage (token {request.CorrelationId:D})";
        var destination = await RequireDestination(context, request.Destination, describe);
        var (body, contentType) = SerializePayload(context, request.Payload, request.PayloadType, describe);

        var jobKey = ScheduledJobData.OneOffJobKey(request.CorrelationId);
        var job = JobBuilder.Create<ScheduledMessageJob>()
            .WithIdentity(jobKey)
            .WithDescription(Describe(request.PayloadType, destination))
            .RequestRecovery()
            .UsingJobData(CreateJobData(context, destination, body, contentType, request.PayloadType, tokenId: request.CorrelationId, messageId: context.MessageId))
            .Build();

        var scheduledTime = AsUtc(request.ScheduledTime);
        var trigger = TriggerBuilder.Create()
            .WithIdentity(ScheduledJobData.OneOffTriggerKey(request.CorrelationId))
            .ForJob(jobKey)
            .StartAt(scheduledTime)
            // A one-off message that is late is still owed: deliver it as soon as the scheduler can.
            .WithSimpleSchedule(schedule => schedule.WithMisfireInstruction(SimpleTriggerMisfireInstruction.FireNow))
            .WithRetryPolicy(ScheduledJobData.SendRetryPolicy)
            .Build();

        var scheduler = await schedulers.GetScheduler(context.CancellationToken);
        await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions { Replace = true }, context.CancellationToken);
        logger.LogDebug("Scheduled {Token} for {ScheduledTime:O} to {Destination}", request.CorrelationId, scheduledTime, destination);
    }

    public async Task Consume(ConsumeContext<CancelScheduledMessage> context)
    {
        var scheduler = await schedulers.GetScheduler(context.CancellationToken);
        var removed = await scheduler.UnscheduleJob(ScheduledJobData.OneOffTriggerKey(context.Message.TokenId), context.CancellationToken);
        if (removed)
            logger.LogDebug("Cancelled scheduled message {Token}", context.Message.TokenId);
        else
            logger.LogDebug("Nothing to cancel for scheduled message {Token}", context.Message.TokenId);
    }

    public async Task Consume(ConsumeContext<ScheduleRecurringMessage> context)
    {
        var request = context.Message;
        var schedule = request.Schedule ?? throw new InvalidScheduleException($"ScheduleRecurringMessage (correlation {request.CorrelationId:D}) has no schedule.");
        if (string.IsNullOrWhiteSpace(schedule.ScheduleId))
            throw new InvalidScheduleException($"ScheduleRecurringMessage (correlation {request.CorrelationId:D}) has no schedule id.");

        var describe = $"ScheduleRecurringMessage '{schedule.ScheduleId}'";
        var destination = await RequireDestination(context, request.Destination, describe);
        var (body, contentType) = SerializePayload(context, request.Payload, request.PayloadType, describe);
        var timeZone = RecurringTriggers.FindTimeZone(schedule.TimeZoneId)
            ?? throw new InvalidScheduleException($"{describe}: time zone '{schedule.TimeZoneId}' is not known on this machine.");
        if (!CronExpression.TryParse(schedule.CronExpression, out _))
            throw new InvalidScheduleException($"{describe}: '{schedule.CronExpression}' is not a valid Quartz cron expression.");

        var jobKey = ScheduledJobData.RecurringJobKey(schedule.ScheduleId, schedule.ScheduleGroup);
        var job = JobBuilder.Create<ScheduledMessageJob>()
            .WithIdentity(jobKey)
            .WithDescription(schedule.Description ?? Describe(request.PayloadType, destination))
            .UsingJobData(CreateJobData(context, destination, body, contentType, request.PayloadType, tokenId: null, messageId: null))
            .Build();

        var trigger = RecurringTriggers.Build(
            ScheduledJobData.RecurringTriggerKey(schedule.ScheduleId, schedule.ScheduleGroup),
            jobKey,
            schedule.CronExpression,
            timeZone,
            schedule.MisfirePolicy,
            schedule.StartTime,
            schedule.EndTime,
            schedule.Description);

        var scheduler = await schedulers.GetScheduler(context.CancellationToken);
        await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions { Replace = true }, context.CancellationToken);
        logger.LogDebug("Scheduled recurring {ScheduleId} ({Cron} {TimeZone}) to {Destination}", schedule.ScheduleId, schedule.CronExpression, timeZone.Id, destination);
    }

    public async Task Consume(ConsumeContext<CancelScheduledRecurringMessage> context)
    {
        var scheduler = await schedulers.GetScheduler(context.CancellationToken);
        var key = ScheduledJobData.RecurringTriggerKey(context.Message.ScheduleId, context.Message.ScheduleGroup);
        var removed = await scheduler.UnscheduleJob(key, context.CancellationToken);
        if (removed)
            logger.LogDebug("Cancelled recurring schedule {Trigger}", key);
        else
            logger.LogDebug("Nothing to cancel for recurring schedule {Trigger}", key);
    }

    public async Task Consume(ConsumeContext<PauseScheduledRecurringMessage> context)
    {
        var scheduler = await schedulers.GetScheduler(context.CancellationToken);
        await scheduler.PauseTrigger(ScheduledJobData.RecurringTriggerKey(context.Message.ScheduleId, context.Message.ScheduleGroup), context.CancellationToken);
    }

    public async Task Consume(ConsumeContext<ResumeScheduledRecurringMessage> context)
    {
        var scheduler = await schedulers.GetScheduler(context.CancellationToken);
        await scheduler.ResumeTrigger(ScheduledJobData.RecurringTriggerKey(context.Message.ScheduleId, context.Message.ScheduleGroup), context.CancellationToken);
    }

    // The address must resolve to a send endpoint of this bus now; a request that cannot be delivered later is
    // refused while its sender can still be told, instead of failing silently when the trigger fires.
    private static async Task<Uri> RequireDestination(ConsumeContext context, Uri? destination, string describe)
    {
        if (destination is null)
            throw new InvalidScheduleException($"{describe} has no destination address.");

        try
        {
            await context.GetSendEndpoint(destination);
            return destination;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            throw new InvalidScheduleException($"{describe}: destination '{destination}' is not an address this bus can send to ({exception.Message}).");
        }
    }

    private static (string Body, string ContentType) SerializePayload(ConsumeContext context, object? payload, string[]? payloadType, string describe)
    {
        if (payloadType is null || payloadType.Length == 0 || payloadType.Any(type => !type.StartsWith("urn:message:", StringComparison.Ordinal)))
        {
            throw new InvalidScheduleException(
                $"{describe}: payload type [{string.Join(", ", payloadType ?? [])}] is not a list of MassTransit message urns (urn:message:...).");
        }

        if (payload is null || payload is JsonElement { ValueKind: not JsonValueKind.Object })
            throw new InvalidScheduleException($"{describe}: the payload of {payloadType[0]} is missing or is not a JSON object, so it cannot be read.");

        try
        {
            // The payload's own serializer writes the envelope the destination will read: same message types,
            // same content type, the payload's JSON untouched.
            var serializer = context.SerializerContext.GetMessageSerializer(payload, payloadType);
            var body = serializer.GetMessageBody(new MessageSendContext<object>(payload)).GetString();
            return (body, serializer.ContentType?.ToString() ?? context.ReceiveContext.ContentType?.ToString() ?? "application/vnd.masstransit+json");
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            throw new InvalidScheduleException($"{describe}: the payload of {payloadType[0]} could not be read ({exception.Message}).");
        }
    }

    private static JobDataMap CreateJobData(ConsumeContext context, Uri destination, string body, string contentType, string[] payloadType, Guid? tokenId, Guid? messageId)
    {
        var data = new JobDataMap
        {
            [ScheduledJobData.Destination] = destination.ToString(),
            [ScheduledJobData.Body] = body,
            [ScheduledJobData.ContentType] = contentType,
            [ScheduledJobData.PayloadType] = string.Join(";", payloadType),
            [ScheduledJobData.Headers] = ScheduledJobData.SerializeHeaders(context.Headers),
        };
        data.PutIfPresent(ScheduledJobData.MessageId, messageId);
        data.PutIfPresent(ScheduledJobData.TokenId, tokenId);
        data.PutIfPresent(ScheduledJobData.CorrelationId, context.CorrelationId);
        data.PutIfPresent(ScheduledJobData.ConversationId, context.ConversationId);
        data.PutIfPresent(ScheduledJobData.InitiatorId, context.InitiatorId);
        data.PutIfPresent(ScheduledJobData.RequestId, context.RequestId);
        data.PutIfPresent(ScheduledJobData.SourceAddress, context.SourceAddress);
        data.PutIfPresent(ScheduledJobData.ResponseAddress, context.ResponseAddress);
        data.PutIfPresent(ScheduledJobData.FaultAddress, context.FaultAddress);
        if (context.ExpirationTime is { } expires)
            data[ScheduledJobData.ExpirationTime] = AsUtc(expires).ToString("O");
        return data;
    }

    private static string Describe(string[] payloadType, Uri destination) => $"{payloadType.FirstOrDefault()} to {destination}";

    private static DateTime AsUtc(DateTime time) => time.Kind switch
    {
        DateTimeKind.Utc => time,
        DateTimeKind.Local => time.ToUniversalTime(),
        _ => DateTime.SpecifyKind(time, DateTimeKind.Utc),
    };
}
