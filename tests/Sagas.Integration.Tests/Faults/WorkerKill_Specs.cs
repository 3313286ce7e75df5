using Sagas.Integration.Tests.Transports;
using Sagas.Integration.Tests.Transports.AmazonSqs;

namespace Sagas.Integration.Tests.Faults;

[Collection(FaultCollection.Name)]
public sealed class When_a_scan_files_worker_is_killed_in_the_middle_of_a_session(FaultServers servers)
    : WorkerKillSpecs<RabbitMqTestTransport>(servers);

[Collection(FaultCollection.Name)]
public sealed class When_a_scan_files_worker_is_killed_in_the_middle_of_a_session_on_amazon_sqs(FaultServers servers)
    : WorkerKillSpecs<AmazonSqsTestTransport>(servers);

/// <summary>
/// One body for every transport (a class per transport above). The killed worker's unfinished files come back to
/// the queue: on RabbitMQ when the broker sees its connection drop, on SQS when their visibility timeout runs out.
/// </summary>
public abstract class WorkerKillSpecs<TTransport>(FaultServers servers)
    where TTransport : class, ITestTransport, new()
{
    private const int Files = 2000;

    // Batches of 5, one at a time per worker: with the default 100 × 2, 2,000 small files can all be counted between
    // two looks at the session on a quiet machine, and the kill would land after the work.
    private static readonly Dictionary<string, string> PacedBatches = new()
    {
        ["ScanSessions:FileBatchSize"] = "5",
        ["ScanSessions:FilesPerMessage"] = "5",
        ["ScanSessions:FileBatchConcurrency"] = "1",
    };

    [TransportFact]
    public async Task Should_complete_with_every_file_counted_exactly_once()
    {
        await using var scenario = await FaultScenario.StartAsync<TTransport>(servers);
        await scenario.StartWorkerAsync("sessions-and-files", "scan-sessions,scan-files", PacedBatches);
        var victim = await scenario.StartWorkerAsync("files-b", "scan-files", PacedBatches);
        var (start, matches, matchedFiles) = await scenario.UploadArchiveAsync(Files);

        await scenario.Bus.Publish(start);
        await scenario.WaitUntilAsync("30 % of the files processed", async () => (await scenario.SessionAsync(start.SessionId))?.ProcessedFiles >= Files * 3 / 10, TimeSpan.FromMinutes(2));
        victim.Kill();
        var atKill = await scenario.SessionAsync(start.SessionId);
        Assert.True(atKill!.ProcessedFiles < Files, $"the session had already processed {atKill.ProcessedFiles} of {Files} files when the worker was killed");

        // The killed worker's prefetched, unacknowledged files go back to the queue; a replacement joins the survivor.
        await scenario.StartWorkerAsync("files-b-replacement", "scan-files", PacedBatches);
        await scenario.WaitUntilAsync("the session completed", async () => await scenario.ScanSagaStateAsync(start.SessionId) == "Completed", TimeSpan.FromMinutes(3));
        await scenario.WaitForQuietBrokerAsync(TimeSpan.FromMinutes(1));

        await scenario.AssertSessionExactAsync(start.SessionId, Files, matches, matchedFiles);
        Assert.Empty(await scenario.ErrorQueuesAsync());
    }
}
