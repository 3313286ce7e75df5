using System.Text.Json.Serialization;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Contracts.LlmJobs;
using Sagas.LlmJobs.Data;
using Sagas.Modules.Realtime;
using Sagas.Persistence;

namespace Sagas.LlmJobs.Realtime;

/// <summary>The WebSocket side of LLM jobs: <c>{"action": "subscribe", "llm_job_id": …}</c> and the job's live messages.</summary>
public static class LlmJobRealtime
{
    public const string SubscriptionProperty = "llm_job_id";

    public const string StateType = "LLM_JOB_STATE";
    public const string ProgressType = "LLM_JOB_PROGRESS";
    public const string CompleteType = "LLM_JOB_COMPLETE";

    public static string Topic(Guid jobId) => "llm:" + jobId.ToString("N");

    public static object Message(string type, Guid jobId, string status, int total, int processed, int succeeded, int failed, int cancelled) =>
        new LlmJobMessage(type, jobId, status, total == 0 ? 100 : (int)(100L * processed / total), total, processed, succeeded, failed, cancelled);

    public static object Message(string type, LlmJob job) =>
        Message(type, job.Id, job.Status, job.TotalItems, job.ProcessedItems, job.SucceededItems, job.FailedItems, job.CancelledItems);

    /// <summary>Subscribes first, then sends the stored state: an event between the two arrives (perhaps twice), never lost.</summary>
    public static async Task SubscribeAsync(Guid jobId, IRealtimeSocket socket, CancellationToken cancellationToken)
    {
        socket.Subscribe(Topic(jobId));
        var db = socket.Services.GetRequiredService<SagasDbContext>();
        var job = await db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (job is null)
        {
            // A job just submitted is stored within moments; the subscription stays and its events will come.
            socket.Send(RealtimeMessages.Error($"There is no LLM job {jobId} yet."));
            return;
        }

        socket.Send(Message(StateType, job));
        if (!job.IsActive)
            socket.Send(Message(CompleteType, job));
    }
}

/// <summary>Relays a job's progress and finish from the bus to the sockets following it on this API instance.</summary>
public sealed class LlmJobRealtimeEvents(IRealtimeHub hub) :
    IConsumer<LlmJobProgressed>,
    IConsumer<LlmJobFinished>
{
    public Task Consume(ConsumeContext<LlmJobProgressed> context)
    {
        var m = context.Message;
        hub.PublishProgress(
            LlmJobRealtime.Topic(m.JobId),
            LlmJobRealtime.Message(LlmJobRealtime.ProgressType, m.JobId, "running", m.TotalItems, m.ProcessedItems, m.SucceededItems, m.FailedItems, m.CancelledItems),
            final: false);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<LlmJobFinished> context)
    {
        var m = context.Message;
        hub.Publish(
            LlmJobRealtime.Topic(m.JobId),
            LlmJobRealtime.Message(LlmJobRealtime.CompleteType, m.JobId, m.Status, m.TotalItems, m.TotalItems, m.SucceededItems, m.FailedItems, m.CancelledItems));
        return Task.CompletedTask;
    }
}

public sealed record LlmJobMessage(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("job_id")] Guid JobId,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("value")] int Value,
    [property: JsonPropertyName("total")] int Total,
    [property: JsonPropertyName("processed")] int Processed,
    [property: JsonPropertyName("succeeded")] int Succeeded,
    [property: JsonPropertyName("failed")] int Failed,
    [property: JsonPropertyName("cancelled")] int Cancelled);
