using MassTransit;
using Sagas.Api.ScanSessions;
using Sagas.Contracts.LlmJobs;
using Sagas.Contracts.ScanSessions;
using Sagas.Storage.Blobs;

namespace Sagas.Api.Realtime;

/// <summary>
/// Hears the workflow's events on this instance's own temporary queue and hands them to the local sockets. Every
/// API instance has such a queue bound to the same events, so whichever instance holds a socket delivers to it.
/// Nothing here is durable: a socket that misses an event resubscribes and reads the state from the database.
/// </summary>
public sealed class RealtimeEventConsumer(RealtimeHub hub, IServiceProvider services) :
    IConsumer<ScanProgressed>,
    IConsumer<ScanMatchFound>,
    IConsumer<ScanSessionCompleted>,
    IConsumer<ScanSessionFailed>,
    IConsumer<CancelScanSession>,
    IConsumer<LlmJobProgressed>,
    IConsumer<LlmJobFinished>
{
    public Task Consume(ConsumeContext<ScanProgressed> context)
    {
        var message = context.Message;
        hub.PublishProgress(RealtimeHub.ScanTopic(message.SessionId), RealtimeMessages.Progress(message.SessionId, message.Processed, message.Total), message.Processed >= message.Total);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<ScanMatchFound> context)
    {
        var message = context.Message;
        hub.Publish(RealtimeHub.ScanTopic(message.SessionId), RealtimeMessages.Match(message.SessionId, message.HoleCode, message.FileName, message.Status, message.Link));
        return Task.CompletedTask;
    }

    public async Task Consume(ConsumeContext<ScanSessionCompleted> context)
    {
        var message = context.Message;
        var topic = RealtimeHub.ScanTopic(message.SessionId);
        if (!hub.HasSubscribers(topic))
            return;
        var link = await DownloadLinkAsync(services, message.SessionId, message.ReportBlobKey, context.CancellationToken);
        hub.Publish(topic, RealtimeMessages.Complete(message.SessionId, link, message.TotalMatches, message.TotalProcessed));
    }

    public Task Consume(ConsumeContext<ScanSessionFailed> context)
    {
        hub.Publish(RealtimeHub.ScanTopic(context.Message.SessionId), RealtimeMessages.Error(context.Message.Reason, context.Message.SessionId));
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<CancelScanSession> context)
    {
        hub.Publish(RealtimeHub.ScanTopic(context.Message.SessionId), RealtimeMessages.Error("The session was cancelled.", context.Message.SessionId));
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<LlmJobProgressed> context)
    {
        var m = context.Message;
        hub.PublishProgress(
            RealtimeHub.LlmJobTopic(m.JobId),
            RealtimeMessages.LlmJobState(RealtimeMessages.LlmJobProgressType, m.JobId, "running", m.TotalItems, m.ProcessedItems, m.SucceededItems, m.FailedItems, m.CancelledItems),
            final: false);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<LlmJobFinished> context)
    {
        var m = context.Message;
        hub.Publish(
            RealtimeHub.LlmJobTopic(m.JobId),
            RealtimeMessages.LlmJobState(RealtimeMessages.LlmJobCompleteType, m.JobId, m.Status, m.TotalItems, m.TotalItems, m.SucceededItems, m.FailedItems, m.CancelledItems));
        return Task.CompletedTask;
    }

    internal static async Task<string> DownloadLinkAsync(IServiceProvider services, Guid sessionId, string reportKey, CancellationToken cancellationToken)
    {
        var blobs = services.GetRequiredService<IBlobStore>();
        var link = await blobs.GetDownloadLinkAsync(reportKey, ScanSessionEndpoints.ReportFileName(sessionId), cancellationToken: cancellationToken);
        return link.OriginalString;
    }
}

public static class RealtimeRegistration
{
    /// <summary>
    /// The hub and this instance's event endpoint: temporary (non-durable, auto-deleted, named after the instance),
    /// so each API instance gets its own copy of every event and no queue outlives its process.
    /// </summary>
    public static IBusRegistrationConfigurator AddRealtimeEvents(this IBusRegistrationConfigurator x)
    {
        var instance = NewId.NextGuid().ToString("N")[..12];
        x.AddConsumer<RealtimeEventConsumer>().Endpoint(endpoint =>
        {
            endpoint.Temporary = true;
            endpoint.InstanceId = instance;
            endpoint.ConcurrentMessageLimit = 1;
        });
        return x;
    }

    public static IServiceCollection AddRealtime(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(RealtimeOptions.Read(configuration));
        services.AddSingleton<RealtimeHub>();
        return services;
    }
}
