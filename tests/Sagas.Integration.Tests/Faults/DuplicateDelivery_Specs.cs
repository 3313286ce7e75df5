using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Contracts.LlmJobs;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Contracts.ScanSessions;
using Sagas.Integration.Tests.Transports;
using Sagas.Integration.Tests.Transports.AmazonSqs;
using Sagas.LlmJobs.Data;
using Sagas.ScanSessions.Data;

namespace Sagas.Integration.Tests.Faults;

public sealed class DuplicationLog
{
    public ConcurrentDictionary<string, int> Duplicated { get; } = new();
}

/// <summary>
/// Publishes every message of the three workflows a second time, marked so that the copy is not copied again: each
/// consumer of the workers sees every message twice, the copy arriving later, as after a redelivery or a publisher
/// retry. The copy has a new message id, so only the business keys can tell it apart.
/// </summary>
public sealed class DuplicatingConsumer(DuplicationLog log) :
    IConsumer<StartScanSession>, IConsumer<DispatchScanSession>, IConsumer<ScanFilesDispatched>, IConsumer<ScanFileChunk>,
    IConsumer<ScanMatchFound>, IConsumer<ScanProgressed>, IConsumer<ScanFilesCompleted>, IConsumer<BuildScanReport>,
    IConsumer<ScanReportBuilt>, IConsumer<ScanSessionCompleted>, IConsumer<ScanSessionFailed>, IConsumer<CancelScanSession>,
    IConsumer<SubmitLlmJob>, IConsumer<CancelLlmJob>, IConsumer<StartLlmJobItems>, IConsumer<StopLlmJobItems>, IConsumer<PollLlmJob>,
    IConsumer<LlmJobAccepted>, IConsumer<LlmJobStarted>, IConsumer<LlmJobProgressed>, IConsumer<LlmJobItemsFinished>,
    IConsumer<LlmJobFinished>, IConsumer<EntityFlagged>,
    IConsumer<RunScheduledPromptAnalyses>, IConsumer<DispatchPromptAnalysisRun>, IConsumer<ClaimPromptAnalyses>, IConsumer<StartPromptAnalysis>,
    IConsumer<AskPromptPlatform>, IConsumer<PromptPlatformAnswered>, IConsumer<PromptAnalysisFinished>, IConsumer<PromptAnalysisRunFinished>
{
    public const string Header = "x-fault-duplicate";
    public const string Queue = "fault-duplicator";

    public Task Consume(ConsumeContext<StartScanSession> context) => Duplicate(context);

    public Task Consume(ConsumeContext<DispatchScanSession> context) => Duplicate(context);

    public Task Consume(ConsumeContext<ScanFilesDispatched> context) => Duplicate(context);

    public Task Consume(ConsumeContext<ScanFileChunk> context) => Duplicate(context);

    public Task Consume(ConsumeContext<ScanMatchFound> context) => Duplicate(context);

    public Task Consume(ConsumeContext<ScanProgressed> context) => Duplicate(context);

    public Task Consume(ConsumeContext<ScanFilesCompleted> context) => Duplicate(context);

    public Task Consume(ConsumeContext<BuildScanReport> context) => Duplicate(context);

    public Task Consume(ConsumeContext<ScanReportBuilt> context) => Duplicate(context);

    public Task Consume(ConsumeContext<ScanSessionCompleted> context) => Duplicate(context);

    public Task Consume(ConsumeContext<ScanSessionFailed> context) => Duplicate(context);

    public Task Consume(ConsumeContext<CancelScanSession> context) => Duplicate(context);

    public Task Consume(ConsumeContext<SubmitLlmJob> context) => Duplicate(context);

    public Task Consume(ConsumeContext<CancelLlmJob> context) => Duplicate(context);

    public Task Consume(ConsumeContext<StartLlmJobItems> context) => Duplicate(context);

    public Task Consume(ConsumeContext<StopLlmJobItems> context) => Duplicate(context);

    public Task Consume(ConsumeContext<PollLlmJob> context) => Duplicate(context);

    public Task Consume(ConsumeContext<LlmJobAccepted> context) => Duplicate(context);

    public Task Consume(ConsumeContext<LlmJobStarted> context) => Duplicate(context);

    public Task Consume(ConsumeContext<LlmJobProgressed> context) => Duplicate(context);

    public Task Consume(ConsumeContext<LlmJobItemsFinished> context) => Duplicate(context);

    public Task Consume(ConsumeContext<LlmJobFinished> context) => Duplicate(context);

    public Task Consume(ConsumeContext<EntityFlagged> context) => Duplicate(context);

    public Task Consume(ConsumeContext<RunScheduledPromptAnalyses> context) => Duplicate(context);

    public Task Consume(ConsumeContext<DispatchPromptAnalysisRun> context) => Duplicate(context);

    public Task Consume(ConsumeContext<ClaimPromptAnalyses> context) => Duplicate(context);

    public Task Consume(ConsumeContext<StartPromptAnalysis> context) => Duplicate(context);

    public Task Consume(ConsumeContext<AskPromptPlatform> context) => Duplicate(context);

    public Task Consume(ConsumeContext<PromptPlatformAnswered> context) => Duplicate(context);

    public Task Consume(ConsumeContext<PromptAnalysisFinished> context) => Duplicate(context);

    public Task Consume(ConsumeContext<PromptAnalysisRunFinished> context) => Duplicate(context);

    private async Task Duplicate<T>(ConsumeContext<T> context)
        where T : class
    {
        // MassTransit copies the headers of a consumed message onto what its consumer publishes, so a plain marker
        // would also mark every message caused by a copy. The marker names the copy's own message id instead.
        if (context.Headers.Get<string>(Header) is { } marked && marked == context.MessageId?.ToString())
            return;
        var copyId = NewId.NextGuid();
        await context.Publish(context.Message, publish =>
        {
            publish.MessageId = copyId;
            publish.Headers.Set(Header, copyId.ToString());
        });
        log.Duplicated.AddOrUpdate(typeof(T).Name, 1, (_, count) => count + 1);
    }
}

[Collection(FaultCollection.Name)]
public sealed class When_every_message_of_every_workflow_is_delivered_twice(FaultServers servers)
    : DuplicateDeliverySpecs<RabbitMqTestTransport>(servers);

[Collection(FaultCollection.Name)]
public sealed class When_every_message_of_every_workflow_is_delivered_twice_on_amazon_sqs(FaultServers servers)
    : DuplicateDeliverySpecs<AmazonSqsTestTransport>(servers);

/// <summary>One body for every transport (a class per transport above).</summary>
public abstract class DuplicateDeliverySpecs<TTransport>(FaultServers servers)
    where TTransport : class, ITestTransport, new()
{
    private const int Files = 300;
    private const int Items = 40;

    [TransportFact]
    public async Task Should_finish_a_scan_session_and_an_llm_job_with_exact_counts()
    {
        var log = new DuplicationLog();
        await using var scenario = await StartAsync(log);
        var (start, matches, matchedFiles) = await scenario.UploadArchiveAsync(Files);
        var jobId = NewId.NextGuid();

        await scenario.Bus.Publish(start);
        await scenario.Bus.Publish(FaultScenario.Job(jobId, Items));
        await scenario.WaitUntilAsync("the session completed", async () => await scenario.ScanSagaStateAsync(start.SessionId) == "Completed", TimeSpan.FromMinutes(3));
        await scenario.WaitUntilAsync("the job completed", async () => await scenario.LlmSagaStateAsync(jobId) == "Completed", TimeSpan.FromMinutes(2));
        await scenario.WaitForQuietBrokerAsync(TimeSpan.FromMinutes(1));

        await scenario.AssertSessionExactAsync(start.SessionId, Files, matches, matchedFiles);
        await scenario.AssertJobExactAsync(jobId, Items);
        string[] expected =
        [
            nameof(StartScanSession), nameof(DispatchScanSession), nameof(ScanFilesDispatched), nameof(ScanFileChunk), nameof(ScanMatchFound),
            nameof(ScanProgressed), nameof(ScanFilesCompleted), nameof(BuildScanReport), nameof(ScanReportBuilt), nameof(ScanSessionCompleted),
            nameof(SubmitLlmJob), nameof(StartLlmJobItems), nameof(PollLlmJob), nameof(LlmJobAccepted), nameof(LlmJobStarted),
            nameof(LlmJobProgressed), nameof(LlmJobItemsFinished), nameof(LlmJobFinished), nameof(EntityFlagged),
        ];
        Assert.Equal(expected, expected.Where(log.Duplicated.ContainsKey));
        Assert.Empty(await scenario.ErrorQueuesAsync());
    }

    /// <summary>
    /// Every message of the run twice: the fan-out page, the claim, each analysis start, each ask, each answer and each
    /// finish. The copy of an ask arrives while the platform is still answering the original (the simulated platforms
    /// take 100–400 ms), so it is the concurrent duplicate, the one that could ask a provider twice.
    /// </summary>
    [TransportFact]
    public async Task Should_finish_a_prompt_analysis_run_with_exact_counts_and_one_call_per_platform_asked()
    {
        const int prompts = 8;
        var log = new DuplicationLog();
        await using var scenario = await StartAsync(log);
        var before = await scenario.PlatformCallsAsync();

        var runId = await scenario.StartAnalysisRunAsync(prompts);
        await scenario.WaitUntilAsync("the run finished", async () => await scenario.FinishedAnalysesAsync(runId) == prompts, TimeSpan.FromMinutes(2));
        await scenario.WaitForQuietBrokerAsync(TimeSpan.FromMinutes(1));

        await scenario.AssertAnalysisRunExactAsync(runId, prompts);
        var after = await scenario.PlatformCallsAsync();
        Assert.Equal(
            FaultScenario.AnalysisPlatforms.Select(platform => (platform, (long)prompts)),
            FaultScenario.AnalysisPlatforms.Select(platform => (platform, after.GetValueOrDefault(platform) - before.GetValueOrDefault(platform))));
        string[] expected =
        [
            nameof(DispatchPromptAnalysisRun), nameof(ClaimPromptAnalyses), nameof(StartPromptAnalysis), nameof(AskPromptPlatform),
            nameof(PromptPlatformAnswered), nameof(PromptAnalysisFinished), nameof(PromptAnalysisRunFinished),
        ];
        Assert.Equal(expected, expected.Where(log.Duplicated.ContainsKey));
        Assert.Equal(prompts * FaultScenario.AnalysisPlatforms.Length, log.Duplicated[nameof(AskPromptPlatform)]);
        Assert.Empty(await scenario.ErrorQueuesAsync());
    }

    [TransportFact]
    public async Task Should_cancel_and_fail_once_when_cancels_stops_and_failures_arrive_twice()
    {
        var log = new DuplicationLog();
        await using var scenario = await StartAsync(log, new Dictionary<string, string>
        {
            // Items that never finish by themselves: the job is still running when the cancel comes.
            ["LlmJobs:Providers:Simulated:MinLatency"] = "00:10:00",
            ["LlmJobs:Providers:Simulated:MaxLatency"] = "00:10:00",
            // One file per batch, one batch at a time: the session is still scanning when its cancel comes.
            ["ScanSessions:FileBatchSize"] = "1",
            ["ScanSessions:FilesPerMessage"] = "1",
            ["ScanSessions:FileBatchConcurrency"] = "1",
        });
        var jobId = NewId.NextGuid();
        await scenario.Bus.Publish(FaultScenario.Job(jobId, 10));
        await scenario.WaitUntilAsync("the job running", async () => (await scenario.JobAsync(jobId))?.Status == LlmJobStatus.Running, TimeSpan.FromMinutes(1));
        await scenario.Bus.Publish(new CancelLlmJob(jobId, "fault spec"));

        var (start, _, _) = await scenario.UploadArchiveAsync(Files);
        await scenario.Bus.Publish(start);
        await scenario.WaitUntilAsync("some files processed", async () => (await scenario.SessionAsync(start.SessionId))?.ProcessedFiles > 0, TimeSpan.FromMinutes(1));
        await scenario.Bus.Publish(new CancelScanSession(start.SessionId));

        var failing = start with { SessionId = NewId.NextGuid(), TargetCodes = [" "] };
        await scenario.Bus.Publish(failing);

        await scenario.WaitUntilAsync("the job cancelled", async () => await scenario.LlmSagaStateAsync(jobId) == "Cancelled", TimeSpan.FromMinutes(1));
        await scenario.WaitUntilAsync("the session cancelled", async () => await scenario.ScanSagaStateAsync(start.SessionId) == "Cancelled", TimeSpan.FromMinutes(1));
        await scenario.WaitUntilAsync("the bad session failed", async () => await scenario.ScanSagaStateAsync(failing.SessionId) == "Failed", TimeSpan.FromMinutes(1));
        await scenario.WaitForQuietBrokerAsync(TimeSpan.FromMinutes(1));

        var job = await scenario.JobAsync(jobId);
        Assert.Equal((LlmJobStatus.Cancelled, 10, 10, 0), (job!.Status, job.CancelledItems, job.ProcessedItems, job.SucceededItems));
        var session = await scenario.SessionAsync(start.SessionId);
        var results = await scenario.QueryAsync(db => Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.CountAsync(db.Set<ScanFileResult>(), r => r.SessionId == start.SessionId));
        Assert.Equal(ScanSessionStatus.Cancelled, session!.Status);
        Assert.Equal(results, session.ProcessedFiles);
        Assert.Equal(ScanSessionStatus.Failed, (await scenario.SessionAsync(failing.SessionId))!.Status);
        string[] expected = [nameof(CancelLlmJob), nameof(StopLlmJobItems), nameof(CancelScanSession), nameof(ScanSessionFailed)];
        Assert.Equal(expected, expected.Where(log.Duplicated.ContainsKey));
        Assert.Empty(await scenario.ErrorQueuesAsync());
    }

    private Task<FaultScenario> StartAsync(DuplicationLog log, Dictionary<string, string>? overrides = null) =>
        StartWithWorkerAsync(servers, log, overrides);

    private static async Task<FaultScenario> StartWithWorkerAsync(FaultServers servers, DuplicationLog log, Dictionary<string, string>? overrides)
    {
        var scenario = await FaultScenario.StartAsync<TTransport>(
            servers,
            x => x.AddConsumer<DuplicatingConsumer>().Endpoint(e =>
            {
                e.Name = DuplicatingConsumer.Queue;
                e.ConcurrentMessageLimit = 32;
            }),
            services => services.AddSingleton(log));
        try
        {
            await scenario.StartWorkerAsync("worker-all", "all", overrides);
        }
        catch
        {
            await scenario.DisposeAsync();
            throw;
        }

        return scenario;
    }
}
