using Sagas.Integration.Tests.Infrastructure;

namespace Sagas.Integration.Tests.Faults;

/// <summary>A scan session and an LLM job in flight together while one server goes away and comes back.</summary>
internal static class InFlightWork
{
    public const int Files = 1000;
    public const int Items = 120;

    /// <summary>
    /// LLM items take between 1 and 25 s: once the first are decided most are still pending, so the fault hits the
    /// job in the middle however fast or slow the machine is.
    /// </summary>
    /// <summary>
    /// Files are recorded in batches of 20 (not 100): the scan must still be running when the fault hits, and a batch
    /// consumer with large batches can finish 1,000 small files before the first LLM item is decided.
    /// </summary>
    public static readonly Dictionary<string, string> SlowItems = new()
    {
        ["LlmJobs:Providers:Simulated:MinLatency"] = "00:00:01",
        ["LlmJobs:Providers:Simulated:MaxLatency"] = "00:00:25",
        ["ScanSessions:FileBatchSize"] = "20",
        ["ScanSessions:FileBatchConcurrency"] = "1",
    };

    public static async Task RunAsync(FaultScenario scenario, Func<Task> fault)
    {
        await scenario.StartWorkerAsync("worker-all", "all", SlowItems);
        await scenario.StartWorkerAsync("worker-files", "scan-files,llm-jobs", SlowItems);
        var (start, matches, matchedFiles) = await scenario.UploadArchiveAsync(Files);
        var jobId = MassTransit.NewId.NextGuid();

        // The job first: its items take seconds each, while the files of the session take milliseconds.
        await scenario.Bus.Publish(FaultScenario.Job(jobId, Items));
        await scenario.WaitUntilAsync("the job under way", async () => (await scenario.JobAsync(jobId))?.ProcessedItems > 0, TimeSpan.FromMinutes(2));
        await scenario.Bus.Publish(start);
        await scenario.WaitUntilAsync("the session under way", async () => (await scenario.SessionAsync(start.SessionId))?.ProcessedFiles >= Files / 10, TimeSpan.FromMinutes(2));

        var session = await scenario.SessionAsync(start.SessionId);
        var job = await scenario.JobAsync(jobId);
        Assert.True(session!.ProcessedFiles < Files, $"the session had processed all {Files} files before the fault");
        Assert.True(job!.ProcessedItems < Items, $"the job had decided all {Items} items before the fault");
        await fault();

        await scenario.WaitUntilAsync("the session completed", async () => await scenario.ScanSagaStateAsync(start.SessionId) == "Completed", TimeSpan.FromMinutes(3));
        await scenario.WaitUntilAsync("the job completed", async () => await scenario.LlmSagaStateAsync(jobId) == "Completed", TimeSpan.FromMinutes(2));
        await scenario.WaitForQuietBrokerAsync(TimeSpan.FromMinutes(1));

        await scenario.AssertSessionExactAsync(start.SessionId, Files, matches, matchedFiles);
        await scenario.AssertJobExactAsync(jobId, Items);
        Assert.Empty(await scenario.ErrorQueuesAsync());
    }
}

[Collection(FaultCollection.Name)]
public sealed class When_rabbitmq_restarts_in_the_middle_of_a_scan_session_and_an_llm_job(FaultServers servers)
{
    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_complete_both_with_nothing_lost_and_nothing_counted_twice()
    {
        await using var scenario = await FaultScenario.StartAsync(servers);
        await InFlightWork.RunAsync(scenario, FaultServers.RestartRabbitMqAsync);
    }
}

[Collection(FaultCollection.Name)]
public sealed class When_postgresql_restarts_in_the_middle_of_a_scan_session_and_an_llm_job(FaultServers servers)
{
    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_resume_after_reconnecting_and_keep_the_counts_exact()
    {
        await using var scenario = await FaultScenario.StartAsync(servers);
        await InFlightWork.RunAsync(scenario, servers.Postgres.RestartAsync);
    }
}
