using System.Diagnostics;
using System.IO.Compression;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using MassTransit;
using Npgsql;
using Sagas.Contracts.ScanSessions;

namespace Sagas.Benchmarks.Realtime;

/// <summary>
/// How far the WebSocket trails the database during a scan session: the API and two workers run as separate processes
/// on RabbitMQ + PostgreSQL, as deployed; this process starts a session over <c>/ws</c> (<c>start_scan</c>), watches the
/// session's counters in the database, and times every <c>PROGRESS</c> and <c>MATCH_FOUND</c> that reaches the socket
/// against the instant the database showed what it reports.
/// </summary>
/// <remarks>
/// The baseline is the commit itself, found by polling the session row (one indexed row, every
/// <see cref="PollInterval"/>): a <c>PROGRESS</c> saying N files is timed from the first poll that saw at least N
/// counted, so its figure can be short by up to one poll interval, never long. A <c>MATCH_FOUND</c> is timed from its
/// file's <c>processed_at</c>, stamped just before the transaction that counts the file begins: an upper bound that
/// includes the transaction's own time.
/// </remarks>
internal sealed class RealtimeLatencyWorkload : IWorkload
{
    private const string SigningKey = "realtime-latency-benchmark-signing-key-0123";

    /// <summary>Warm-up sessions at most (the quick run warms once).</summary>
    private const int MaxWarmUpSessions = 30;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);
    private static readonly string[] Codes = [.. Enumerable.Range(0, 200).Select(i => $"HOLE-{i}")];

    public string Name => "realtime-latency";

    public string Description => "a scan session's PROGRESS and MATCH_FOUND on the WebSocket, timed from the database commit; API + 2 workers as processes (RabbitMQ + PostgreSQL). [--quick] [--cold: no warm-up, fresh processes] [--files N] [--workers N]. Measured after warm-up sessions of the same size until the processes' compiling goes quiet (at most 30; one in the quick run).";

    public async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var files = BenchmarkArguments.Int(args, "--files", quick ? 300 : 2_000);
        var workerCount = BenchmarkArguments.Int(args, "--workers", 2);
        var cold = args.Contains("--cold");

        await using var database = await BenchmarkServers.CreateDatabaseAsync();
        await using var broker = await BenchmarkServers.CreateVirtualHostAsync();
        var blobRoot = Path.Combine(Path.GetTempPath(), "sagas-bench-realtime-" + Guid.NewGuid().ToString("N")[..8]);
        var shared = new Dictionary<string, string>
        {
            ["Messaging:Transport"] = "RabbitMq",
            ["Messaging:RabbitMq:Uri"] = broker.Address.ToString(),
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = database.ConnectionString,
            ["Storage:Provider"] = "Local",
            ["Storage:Local:Root"] = blobRoot,
            ["Storage:Local:SigningKey"] = SigningKey,
        };
        foreach (var (key, value) in BenchmarkArguments.Settings(args))
            shared[key] = value!;

        Console.WriteLine($"# realtime-latency: one scan session of {files:N0} files ({Codes.Length} target codes), API and {workerCount} workers as separate processes on RabbitMQ + PostgreSQL");
        Console.WriteLine(BenchmarkMachine.Describe());

        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        // The API runs no worker role, like a deployed API; it migrates the database, so it starts first.
        await using var api = HostProcess.Start("Sagas.Api", new Dictionary<string, string>(shared) { ["Worker:Roles"] = "none" });
        await api.WaitUntilReadyAsync(probe, TimeSpan.FromSeconds(90));
        var workers = new List<HostProcess>();
        try
        {
            for (var i = 0; i < workerCount; i++)
            {
                workers.Add(HostProcess.Start("Sagas.Worker", new Dictionary<string, string>(shared)
                {
                    ["Worker:Roles"] = "scan-sessions,scan-files",
                    ["Database:MigrateAtStartup"] = "false",
                }));
            }

            foreach (var worker in workers)
                await worker.WaitUntilReadyAsync(probe, TimeSpan.FromSeconds(90));

            // A second subscriber on the same broker: when each event was published (its SentTime) and when a consumer
            // other than the API had it, so the report can say where between the commit and the socket the time goes.
            var observed = new BusObservations();
            var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
            {
                cfg.Host(broker.Address);
                cfg.ReceiveEndpoint("bench-realtime-observer-" + Guid.NewGuid().ToString("N")[..6], endpoint =>
                {
                    endpoint.AutoDelete = true;
                    endpoint.Durable = false;
                    endpoint.Handler<ScanMatchFound>(context =>
                    {
                        observed.Matches[(context.Message.FileName, context.Message.HoleCode)] = (Sent(context), DateTimeOffset.UtcNow, context.MessageId ?? Guid.Empty);
                        return Task.CompletedTask;
                    });
                });
            });
            await bus.StartAsync();
            try
            {
                if (!cold)
                {
                    var warmUp = await WarmUpAsync(api, workers, database.ConnectionString, files, observed, quick ? 1 : MaxWarmUpSessions);
                    if (warmUp.Failure is { } failure)
                    {
                        Console.WriteLine($"SESSION FAILED (warm-up): {failure}");
                        return 1;
                    }

                    Console.WriteLine($"measured after warm-up sessions in the same processes ({warmUp.Summary}); --cold measures fresh processes");
                }
                else
                {
                    Console.WriteLine("cold: the processes' first session (--cold)");
                }

                var run = await RunSessionAsync(api.BaseAddress, database.ConnectionString, files);
                return Report(run, observed, files);
            }
            finally
            {
                await bus.StopAsync();
            }
        }
        finally
        {
            foreach (var worker in workers)
                await worker.DisposeAsync();
            try
            {
                Directory.Delete(blobRoot, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is harmless.
            }
        }
    }

    /// <summary>
    /// Long-lived processes have compiled the event path at its final tier; fresh ones spend much of their first
    /// sessions' CPU compiling (docs/performance.md, scan-session), and on 2 cores that CPU is what the events wait for.
    /// Sessions of the same size run until the API's and the workers' tiered-compilation threads go nearly quiet.
    /// </summary>
    private static async Task<(string Summary, string? Failure)> WarmUpAsync(
        HostProcess api, IReadOnlyList<HostProcess> workers, string connectionString, int files, BusObservations observed, int maxSessions)
    {
        var processes = workers.Append(api).ToList();
        var rounds = new List<string>();
        for (var round = 1; round <= maxSessions; round++)
        {
            var compiledBefore = CpuShares.CompilingSeconds(processes.Select(p => p.ProcessId));
            var warm = await RunSessionAsync(api.BaseAddress, connectionString, files);
            if (warm.Failure is { } failure)
                return ("", failure);
            var compiled = CpuShares.CompilingSeconds(processes.Select(p => p.ProcessId)) - compiledBefore;
            rounds.Add($"{warm.Wall.TotalSeconds:N2} s, compiling {compiled:N2} s");
            if (compiled < CpuShares.QuietCompileSeconds)
                break;
        }

        // The measured session has the same file names: a warm-up event still on its way must not pass for one of it.
        using var settle = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (observed.Matches.Count < ExpectedMatches(files) && !settle.IsCancellationRequested)
            await Task.Delay(TimeSpan.FromMilliseconds(50), CancellationToken.None);
        observed.Matches.Clear();
        return ($"{rounds.Count} × {files:N0} files: {string.Join("; ", rounds)}", null);
    }

    private static DateTimeOffset Sent(ConsumeContext context) =>
        context.SentTime is { } sent ? new DateTimeOffset(sent, TimeSpan.Zero) : DateTimeOffset.MinValue;

    private static int Report(SessionRun run, BusObservations observed, int files)
    {
        var progress = run.Progress.Select(p => (p.At - (run.FirstSeen(p.Processed) ?? p.At)).TotalMilliseconds).ToList();
        var matches = run.Matches.Select(m => run.ProcessedAt.TryGetValue(m.FileName, out var at) ? (m.At - at).TotalMilliseconds : double.NaN).ToList();
        var unknown = matches.Count(double.IsNaN);
        matches.RemoveAll(double.IsNaN);

        Console.WriteLine();
        Console.WriteLine("| message | count | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        Console.WriteLine($"| PROGRESS, from the poll that first saw its count committed | {progress.Count:N0} | {Percentile(progress, 50):N0} | {Percentile(progress, 95):N0} | {Percentile(progress, 99):N0} | {Percentile(progress, 100):N0} |");
        Console.WriteLine($"| MATCH_FOUND, from its file's processed_at (upper bound) | {matches.Count:N0} | {Percentile(matches, 50):N0} | {Percentile(matches, 95):N0} | {Percentile(matches, 99):N0} | {Percentile(matches, 100):N0} |");

        // Where a MATCH_FOUND's time goes: commit and outbox dispatch, the broker, the API's consume and socket write.
        var stages = run.Matches
            .Where(m => run.ProcessedAt.ContainsKey(m.FileName) && observed.Matches.ContainsKey((m.FileName, m.Code)))
            .Select(m => (Processed: run.ProcessedAt[m.FileName], Bus: observed.Matches[(m.FileName, m.Code)], Socket: m.At))
            .ToList();
        var published = stages.Select(s => (s.Bus.Sent - s.Processed).TotalMilliseconds).ToList();
        var committed = stages.Where(s => run.InOutbox.ContainsKey(s.Bus.MessageId)).Select(s => (run.InOutbox[s.Bus.MessageId] - s.Processed).TotalMilliseconds).ToList();
        var dispatched = stages.Where(s => run.InOutbox.ContainsKey(s.Bus.MessageId)).Select(s => (s.Bus.Sent - run.InOutbox[s.Bus.MessageId]).TotalMilliseconds).ToList();
        var brokered = stages.Select(s => (s.Bus.Received - s.Bus.Sent).TotalMilliseconds).ToList();
        var relayed = stages.Select(s => (s.Socket - s.Bus.Received).TotalMilliseconds).ToList();
        Console.WriteLine($"| MATCH_FOUND stage 1: processed_at → published by the outbox (SentTime) | {published.Count:N0} | {Percentile(published, 50):N0} | {Percentile(published, 95):N0} | {Percentile(published, 99):N0} | {Percentile(published, 100):N0} |");
        Console.WriteLine($"| … of which processed_at → its outbox row seen committed (rows seen before publishing) | {committed.Count:N0} | {Percentile(committed, 50):N0} | {Percentile(committed, 95):N0} | {Percentile(committed, 99):N0} | {Percentile(committed, 100):N0} |");
        Console.WriteLine($"| … of which outbox row seen → published | {dispatched.Count:N0} | {Percentile(dispatched, 50):N0} | {Percentile(dispatched, 95):N0} | {Percentile(dispatched, 99):N0} | {Percentile(dispatched, 100):N0} |");
        Console.WriteLine($"| MATCH_FOUND stage 2: published → consumed by a second subscriber | {brokered.Count:N0} | {Percentile(brokered, 50):N0} | {Percentile(brokered, 95):N0} | {Percentile(brokered, 99):N0} | {Percentile(brokered, 100):N0} |");
        Console.WriteLine($"| MATCH_FOUND stage 3: that subscriber → on the socket (the API's consume, hub, socket) | {relayed.Count:N0} | {Percentile(relayed, 50):N0} | {Percentile(relayed, 95):N0} | {Percentile(relayed, 99):N0} | {Percentile(relayed, 100):N0} |");
        Console.WriteLine();
        Console.WriteLine("| measure | value |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine($"| files counted / matches counted in the database | {run.CountedFiles:N0} / {run.CountedMatches:N0} (expected {files:N0} / {ExpectedMatches(files):N0}) |");
        Console.WriteLine($"| MATCH_FOUND received (distinct file and code) | {run.Matches.Count:N0} ({run.Matches.Select(m => (m.FileName, m.Code)).Distinct().Count():N0}) |");
        Console.WriteLine($"| session, start_scan → COMPLETE | {run.Wall.TotalSeconds:N2} s |");
        Console.WriteLine($"| database polls / longest gap between two polls | {run.Polls:N0} / {run.LongestPollGap.TotalMilliseconds:N0} ms |");
        Console.WriteLine();
        Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}");

        var exact = run.Failure is null && run.CountedFiles == files && run.CountedMatches == ExpectedMatches(files)
            && run.Matches.Select(m => (m.FileName, m.Code)).Distinct().Count() == ExpectedMatches(files) && unknown == 0;
        if (run.Failure is not null)
            Console.WriteLine($"SESSION FAILED: {run.Failure}");
        else if (!exact)
            Console.WriteLine($"NOT EXACT: every counted match must reach the socket ({unknown} matches name a file the database does not have)");
        return exact ? 0 : 1;
    }

    private static async Task<SessionRun> RunSessionAsync(Uri api, string connectionString, int files)
    {
        var zip = BuildZip(files);
        using var socket = new ClientWebSocket();
        var wsAddress = new UriBuilder(api) { Scheme = "ws", Path = "/ws" }.Uri;
        await socket.ConnectAsync(wsAddress, CancellationToken.None);

        var run = new SessionRun();
        var start = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["action"] = "start_scan",
            ["file_name"] = "bench.zip",
            ["file_content"] = Convert.ToBase64String(zip),
            ["target_hole_codes"] = Codes,
        });
        var clock = Stopwatch.StartNew();
        await socket.SendAsync(start, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        Task? poller = null;
        using var polling = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                message.SetLength(0);
                WebSocketReceiveResult received;
                do
                {
                    received = await socket.ReceiveAsync(buffer, stop.Token);
                    if (received.MessageType == WebSocketMessageType.Close)
                        return run with { Failure = "the API closed the socket" };
                    message.Write(buffer, 0, received.Count);
                }
                while (!received.EndOfMessage);

                var at = DateTimeOffset.UtcNow;
                using var document = JsonDocument.Parse(message.ToArray());
                var root = document.RootElement;
                switch (root.GetProperty("type").GetString())
                {
                    case "STARTED":
                        run.SessionId = root.GetProperty("session_id").GetGuid();
                        poller = PollAsync(connectionString, run, polling.Token);
                        break;
                    case "PROGRESS":
                        run.Progress.Add(new ProgressReceived(at, root.GetProperty("processed").GetInt32()));
                        break;
                    case "MATCH_FOUND":
                        var data = root.GetProperty("data");
                        run.Matches.Add(new MatchReceived(at, data.GetProperty("file_name").GetString()!, data.GetProperty("hole_code").GetString()!));
                        break;
                    case "COMPLETE":
                        run.Wall = clock.Elapsed;
                        await polling.CancelAsync();
                        await WaitForPollerAsync(poller);
                        await ReadOutcomeAsync(connectionString, run);
                        return run;
                    case "ERROR":
                        return run with { Failure = root.GetProperty("message").GetString() };
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return run with { Failure = "no COMPLETE within 10 minutes" };
        }
        finally
        {
            await polling.CancelAsync();
            await WaitForPollerAsync(poller);
        }
    }

    private static async Task WaitForPollerAsync(Task? poller)
    {
        if (poller is null)
            return;
        try
        {
            await poller;
        }
        catch (OperationCanceledException)
        {
            // Stopped on purpose.
        }
    }

    /// <summary>Notes the first instant each new counter value of the session was visible to another connection.</summary>
    private static async Task PollAsync(string connectionString, SessionRun run, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT processed_files FROM scan_sessions WHERE id = @id", connection);
        command.Parameters.AddWithValue("id", run.SessionId);
        await command.PrepareAsync(cancellationToken);
        await using var outbox = new NpgsqlCommand("SELECT message_id FROM outbox_messages WHERE message_type = @type", connection);
        outbox.Parameters.AddWithValue("type", typeof(ScanMatchFound).FullName!);
        await outbox.PrepareAsync(cancellationToken);
        var last = -1;
        var previous = DateTimeOffset.UtcNow;
        while (!cancellationToken.IsCancellationRequested)
        {
            var value = await command.ExecuteScalarAsync(cancellationToken);
            var now = DateTimeOffset.UtcNow;
            run.Polls++;
            if (now - previous > run.LongestPollGap)
                run.LongestPollGap = now - previous;
            previous = now;
            if (value is int processed && processed > last)
            {
                run.Seen.Add((now, processed));
                last = processed;
            }

            await using (var pending = await outbox.ExecuteReaderAsync(cancellationToken))
            {
                var seen = DateTimeOffset.UtcNow;
                while (await pending.ReadAsync(cancellationToken))
                    run.InOutbox.TryAdd(pending.GetGuid(0), seen);
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    private static async Task ReadOutcomeAsync(string connectionString, SessionRun run)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var session = new NpgsqlCommand("SELECT processed_files, total_matches FROM scan_sessions WHERE id = @id", connection))
        {
            session.Parameters.AddWithValue("id", run.SessionId);
            await using var reader = await session.ExecuteReaderAsync();
            if (await reader.ReadAsync())
            {
                run.CountedFiles = reader.GetInt32(0);
                run.CountedMatches = reader.GetInt32(1);
            }
        }

        await using var results = new NpgsqlCommand("SELECT name, processed_at FROM scan_file_results WHERE session_id = @id", connection);
        results.Parameters.AddWithValue("id", run.SessionId);
        await using var rows = await results.ExecuteReaderAsync();
        while (await rows.ReadAsync())
            run.ProcessedAt[rows.GetString(0)] = rows.GetFieldValue<DateTimeOffset>(1);
    }

    /// <summary>File i holds HOLE-{i % 200} when i % 3 == 0; the others hold near misses that match nothing.</summary>
    private static byte[] BuildZip(int files)
    {
        using var memory = new MemoryStream();
        using (var archive = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < files; i++)
            {
                var entry = archive.CreateEntry($"drawings/sheet-{i:D5}.txt", CompressionLevel.Fastest);
                using var writer = new StreamWriter(entry.Open(), Encoding.UTF8);
                writer.Write($"Drawing sheet {i}. Revision B. ");
                writer.Write(i % 3 == 0 ? $"Hole reference HOLE-{i % 200} at grid C4." : $"References HOLE-{i}0x and HOLE_{i} only.");
                writer.Write(new string('.', 400));
            }
        }

        return memory.ToArray();
    }

    private static int ExpectedMatches(int files) => (files + 2) / 3;

    private static double Percentile(List<double> values, int percentile)
    {
        if (values.Count == 0)
            return double.NaN;
        var sorted = values.Order().ToList();
        var index = (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Count - 1)];
    }

    private sealed class BusObservations
    {
        public System.Collections.Concurrent.ConcurrentDictionary<(string FileName, string Code), (DateTimeOffset Sent, DateTimeOffset Received, Guid MessageId)> Matches { get; } = new();
    }

    private sealed record ProgressReceived(DateTimeOffset At, int Processed);

    private sealed record MatchReceived(DateTimeOffset At, string FileName, string Code);

    private sealed record SessionRun
    {
        public Guid SessionId { get; set; }

        public List<ProgressReceived> Progress { get; } = [];

        public List<MatchReceived> Matches { get; } = [];

        /// <summary>(poll instant, processed files) each time the count grew.</summary>
        public List<(DateTimeOffset At, int Processed)> Seen { get; } = [];

        public Dictionary<string, DateTimeOffset> ProcessedAt { get; } = new(StringComparer.Ordinal);

        /// <summary>When each MATCH_FOUND outbox row (by message id) was first seen committed and not yet published.</summary>
        public Dictionary<Guid, DateTimeOffset> InOutbox { get; } = [];

        public int Polls { get; set; }

        public TimeSpan LongestPollGap { get; set; }

        public int CountedFiles { get; set; }

        public int CountedMatches { get; set; }

        public TimeSpan Wall { get; set; }

        public string? Failure { get; init; }

        /// <summary>The first poll that saw at least <paramref name="processed"/> files counted; null when none did (the run ended first).</summary>
        public DateTimeOffset? FirstSeen(int processed)
        {
            foreach (var (at, count) in Seen)
            {
                if (count >= processed)
                    return at;
            }

            return null;
        }
    }
}
