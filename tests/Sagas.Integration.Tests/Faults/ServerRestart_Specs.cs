using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;

namespace Sagas.Integration.Tests.Faults;

/// <summary>A scan session, an LLM job and a prompt-analysis run in flight together while one server goes away and comes back.</summary>
internal static class InFlightWork
{
    public const int Files = 1000;
    public const int Items = 120;
    public const int Prompts = 30;

    /// <summary>
    /// Paced so that all three are in the middle when the fault hits, however fast or slow the machine is: LLM items
    /// take between 1 and 25 s, so once the first are decided most are still pending; files are recorded one at a time
    /// (not 100 a batch), as batches can count 1,000 small files between two looks at the session; an analysis
    /// waits on its slowest of four platforms (1–8 s) and at most 5 run at once, so the 30-prompt run takes six waves
    /// of several seconds each.
    /// </summary>
    public static readonly Dictionary<string, string> SlowItems = new()
    {
        ["LlmJobs:Providers:Simulated:MinLatency"] = "00:00:01",
        ["LlmJobs:Providers:Simulated:MaxLatency"] = "00:00:25",
        ["ScanSessions:FileBatchSize"] = "1",
        ["ScanSessions:FilesPerMessage"] = "1",
        ["ScanSessions:FileBatchConcurrency"] = "1",
        ["PromptAnalyses:Platforms:Simulated:MinLatencyMs"] = "1000",
        ["PromptAnalyses:Platforms:Simulated:MaxLatencyMs"] = "8000",
    };

    /// <param name="recovery">How long each of the three may take to finish once <paramref name="fault"/> has returned.</param>
    public static async Task RunAsync(FaultScenario scenario, Func<Task> fault, TimeSpan? recovery = null)
    {
        // The prompt-analyses role (saga, fan-out, claim step, platform asks) runs on worker-all only.
        await scenario.StartWorkerAsync("worker-all", "all", SlowItems);
        await scenario.StartWorkerAsync("worker-files", "scan-files,llm-jobs", SlowItems);
        var (start, matches, matchedFiles) = await scenario.UploadArchiveAsync(Files);
        var jobId = MassTransit.NewId.NextGuid();

        // Slowest first: the job's items and the run's answers take seconds each, the session's files milliseconds. The
        // scan starts only once the other two are under way, so all three are in the middle when the fault hits.
        await scenario.Bus.Publish(FaultScenario.Job(jobId, Items));
        var runId = await scenario.StartAnalysisRunAsync(Prompts);
        await scenario.WaitUntilAsync("the job and the run under way", async () =>
            (await scenario.JobAsync(jobId))?.ProcessedItems > 0 && await scenario.AnsweredPlatformsAsync(runId) > 0,
            TimeSpan.FromMinutes(2));
        await scenario.Bus.Publish(start);
        await scenario.WaitUntilAsync("the session under way", async () => (await scenario.SessionAsync(start.SessionId))?.ProcessedFiles >= Files / 10, TimeSpan.FromMinutes(2));

        var session = await scenario.SessionAsync(start.SessionId);
        var job = await scenario.JobAsync(jobId);
        var analysed = await scenario.FinishedAnalysesAsync(runId);
        Assert.True(session!.ProcessedFiles < Files, $"the session had processed all {Files} files before the fault");
        Assert.True(job!.ProcessedItems < Items, $"the job had decided all {Items} items before the fault");
        Assert.True(analysed < Prompts, $"the run had finished all {Prompts} analyses before the fault");
        await fault();

        // A message given up on (moved to an _error queue) means the wait can never succeed: say so at once.
        var errors = new ErrorQueueWatch(scenario);
        await scenario.WaitUntilAsync("the session completed", async () =>
            await errors.NoneYetAsync() && await scenario.ScanSagaStateAsync(start.SessionId) == "Completed", recovery ?? TimeSpan.FromMinutes(3));
        await scenario.WaitUntilAsync("the job completed", async () =>
            await errors.NoneYetAsync() && await scenario.LlmSagaStateAsync(jobId) == "Completed", recovery ?? TimeSpan.FromMinutes(2));
        await scenario.WaitUntilAsync("the run finished", async () =>
            await errors.NoneYetAsync() && await scenario.FinishedAnalysesAsync(runId) == Prompts, recovery ?? TimeSpan.FromMinutes(2),
            () => scenario.DescribeUnfinishedAnalysesAsync(runId));
        await scenario.WaitForQuietBrokerAsync(TimeSpan.FromMinutes(1));

        await scenario.AssertSessionExactAsync(start.SessionId, Files, matches, matchedFiles);
        await scenario.AssertJobExactAsync(jobId, Items);
        await scenario.AssertAnalysisRunExactAsync(runId, Prompts);

        // Every platform asked was called. A call whose answer could not be stored (the database went away between
        // the provider's answer and the commit) is made again on redelivery, so calls may exceed what is stored.
        var calls = await scenario.PlatformCallsAsync();
        Assert.All(FaultScenario.AnalysisPlatforms, platform => Assert.InRange(calls.GetValueOrDefault(platform), Prompts, 2 * Prompts));
        Assert.Empty(await scenario.ErrorQueuesAsync());
    }
}

/// <summary>Looks into the error queues now and then (listing queues starts rabbitmqctl, which is not free).</summary>
internal sealed class ErrorQueueWatch(FaultScenario scenario)
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(10);
    private DateTimeOffset _next = DateTimeOffset.MinValue;

    /// <summary>True while no message lies in an _error queue; fails the spec with their names and counts otherwise.</summary>
    public async Task<bool> NoneYetAsync()
    {
        if (DateTimeOffset.UtcNow < _next)
            return true;
        _next = DateTimeOffset.UtcNow + Every;
        var errors = await scenario.ErrorQueuesAsync();
        Assert.True(errors.Count == 0, $"messages were given up on: {string.Join(", ", errors)}");
        return true;
    }
}

[Collection(FaultCollection.Name)]
public sealed class When_rabbitmq_restarts_in_the_middle_of_a_scan_session_an_llm_job_and_an_analysis_run(FaultServers servers)
{
    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_complete_all_three_with_nothing_lost_and_nothing_counted_twice()
    {
        await using var scenario = await FaultScenario.StartAsync<RabbitMqTestTransport>(servers);
        await InFlightWork.RunAsync(scenario, FaultServers.RestartRabbitMqAsync);
    }
}

[Collection(FaultCollection.Name)]
public sealed class When_postgresql_restarts_in_the_middle_of_a_scan_session_an_llm_job_and_an_analysis_run(FaultServers servers)
{
    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_resume_after_reconnecting_and_keep_the_counts_exact()
    {
        await using var scenario = await FaultScenario.StartAsync<RabbitMqTestTransport>(servers);
        await InFlightWork.RunAsync(scenario, servers.Postgres.RestartAsync);
    }
}

/// <summary>
/// PostgreSQL gone for minutes, far beyond the endpoint retries (seconds): every message that failed meanwhile must be
/// redelivered later through the scheduler, none may end in an _error queue.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class When_postgresql_is_down_for_three_minutes_in_the_middle_of_a_scan_session_an_llm_job_and_an_analysis_run(FaultServers servers)
{
    public static readonly TimeSpan Outage = TimeSpan.FromMinutes(3);

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_complete_all_three_once_it_is_back_with_exact_counts_and_no_message_given_up()
    {
        await using var scenario = await FaultScenario.StartAsync<RabbitMqTestTransport>(servers);
        await InFlightWork.RunAsync(scenario, async () =>
        {
            await servers.Postgres.StopAsync();
            // The outage itself, not a wait for something to happen: the database stays away this long.
            await Task.Delay(Outage);
            await servers.Postgres.StartAsync();
        }, recovery: TimeSpan.FromMinutes(5));
    }
}
