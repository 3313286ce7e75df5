using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Contracts.ScanSessions;
using Sagas.Components.Tests.ScanSessions;
using Sagas.Hosting;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Matching;
using Sagas.Storage.Blobs;
using Sagas.Workflows;

namespace Sagas.Benchmarks.ScanSessions;

/// <summary>
/// One scan session of many small generated files, end to end on each broker (RabbitMQ, and Amazon SQS as the fauxqs
/// emulator serves it) + PostgreSQL, one after the other in the same run: this process hosts the saga, dispatcher and
/// report builder (role scan-sessions); two Sagas.Worker processes (role scan-files) scan. Reported beside it: the pure
/// per-file work measured in-process, the orchestration overhead, each worker's peak RSS, and MassTransit's raw send +
/// consume of the same number of messages on the same broker.
/// </summary>
internal sealed class ScanSessionWorkload : IWorkload
{
    private const string SigningKey = "scan-session-benchmark-signing-key-0123456789";

    /// <summary>Room for the --archive-mib runs up to 1.8 GiB (the default limit is 512 MiB; the setting allows just under 2 GiB); the workers' archive cache stays at its default.</summary>
    private const string LargeUploadLimit = "2000000000";

    /// <summary>
    /// Most files of the session that warms the workers and the coordinator before the measured one (not with --cold):
    /// as many as the measured session has, so the per-file and per-batch paths are compiled at their final tier.
    /// </summary>
    private const int MaxWarmUpFiles = 6_600;

    /// <summary>
    /// Warm-up sessions at most: on the 2-core machine the workers' compiling went quiet after about nine sessions of
    /// 6,600 files (each compiling 1.4–3.5 CPU s until then). The quick run warms once: it checks counts, not time.
    /// </summary>
    private const int MaxWarmUpSessions = 30;

    private static readonly string[] Codes = [.. Enumerable.Range(0, 200).Select(i => $"HOLE-{i}")];

    public string Name => "scan-session";

    public string Description => "6,600 small files through a scan session with 2 worker processes, on RabbitMQ and on Amazon SQS (fauxqs emulator), + PostgreSQL; overhead, worker RSS, raw MassTransit send + consume. Measured in the same processes after warm-up sessions of the same size (at most 6,600 text files) until the workers' compiling goes quiet (at most 30; one in the quick run). [--quick] [--cold: no warm-up, fresh processes] [--files N] [--workers N] [--transports rabbitmq,amazon-sqs] [--archive-mib N: one archive of that size, larger than the workers' archive cache, e.g. --files 20000 --archive-mib 1024] [--min-warm-ups N: warm-up sessions to run even once compiling is quiet] [--scanned-percent N: that share of the files are image-only PDFs (a 4 × 2 inch label scanned at 200 DPI) read with OCR]";

    public async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var files = BenchmarkArguments.Int(args, "--files", quick ? 300 : 6_600);
        var workerCount = BenchmarkArguments.Int(args, "--workers", 2);
        var transports = BenchmarkBrokers.Selected(args);
        var archiveMib = BenchmarkArguments.Int(args, "--archive-mib", 0);
        var scannedPercent = BenchmarkArguments.Int(args, "--scanned-percent", 0);
        // Warm-up sessions to run even once compiling is quiet: memory that builds up per session shows only after several.
        var minWarmUps = BenchmarkArguments.Int(args, "--min-warm-ups", 1);
        if (scannedPercent > 100 || (scannedPercent > 0 && archiveMib > 0))
            throw new BenchmarkSetupException("--scanned-percent takes 1 to 100 and does not combine with --archive-mib.");
        var zipPath = Path.Combine(Path.GetTempPath(), $"sagas-bench-scan-{Guid.NewGuid():N}.zip");
        // The archive lives in a file, never in this process's memory whole: a 1 GiB one is what the workers must not hold.
        var zipBytes = BuildZip(zipPath, files, archiveMib * 1024L * 1024, scannedPercent);
        var cold = args.Contains("--cold");
        var warmUpZip = cold ? null : Path.Combine(Path.GetTempPath(), $"sagas-bench-scan-warm-{Guid.NewGuid():N}.zip");
        var warmUpFiles = Math.Min(files, MaxWarmUpFiles);
        if (warmUpZip is not null)
            BuildZip(warmUpZip, warmUpFiles, 0);
        var scannedFiles = Enumerable.Range(0, files).Count(i => IsScanned(i, scannedPercent));

        Console.WriteLine($"# scan-session: {files:N0} files ({zipBytes / 1024.0:N0} KiB ZIP), {Codes.Length} target codes, {workerCount} worker processes, on {string.Join(" and ", transports)}");
        if (scannedPercent > 0)
            Console.WriteLine($"scanned: {scannedFiles:N0} files ({scannedPercent} %) are image-only PDFs, one 4 × 2 inch label page each, scanned at 200 DPI (noise, a slight turn, JPEG quality 45); the workers render them at ScanSessions:Ocr:Dpi 300 with Ocr:Concurrency 1 each");
        Console.WriteLine(BenchmarkMachine.Describe());
        Console.WriteLine($"load average before: {File.ReadAllText("/proc/loadavg").Trim()}");

        var pureWork = MeasurePureWork(zipPath, files);
        var parallelism = Math.Min(Environment.ProcessorCount, workerCount * 8);
        var results = new List<SessionRun>();
        foreach (var transport in transports)
        {
            await using var broker = await BenchmarkBrokers.CreateAsync(transport);
            var run = await RunSessionAsync(broker, zipPath, files, workerCount, archiveMib > 0, scannedPercent, warmUpZip is null ? null : (warmUpZip, warmUpFiles, Math.Min(minWarmUps, MaxWarmUpSessions), quick ? 1 : Math.Max(minWarmUps, MaxWarmUpSessions)));
            results.Add(run);
            var overhead = run.Wall - (pureWork / parallelism);
            Console.WriteLine();
            Console.WriteLine($"## {broker.Label}");
            Console.WriteLine();
            Console.WriteLine("| measure | value |");
            Console.WriteLine("|---|---:|");
            Console.WriteLine($"| files processed / matches | {run.Processed:N0} / {run.Matches:N0} (expected {files:N0} / {ExpectedMatches(files):N0}) |");
            if (run.Scanned is { } scanned)
            {
                Console.WriteLine($"| scanned files: codes typeset / found / wrong | {scanned.Truth:N0} / {scanned.Found:N0} / {scanned.Wrong:N0} (recall {scanned.Recall:0.000}, precision {scanned.Precision:0.000}); file errors {scanned.Errors:N0} |");
                Console.WriteLine($"| OCR pages / OCR child time summed over workers | {run.OcrPages:N0} / {run.OcrSeconds:N1} s ({run.OcrSeconds / Math.Max(1, run.OcrPages):N2} s per page) |");
            }

            Console.WriteLine($"| wall time, start → ScanSessionCompleted | {run.Wall.TotalSeconds:N2} s |");
            Console.WriteLine($"| pure per-file work (extract + match, bytes in memory), sequential | {pureWork.TotalSeconds:N2} s |");
            Console.WriteLine($"| orchestration overhead = wall − pure work / {parallelism} (cores usable) | {overhead.TotalSeconds:N2} s |");
            Console.WriteLine($"| orchestration overhead = wall − pure work (no parallel credit) | {(run.Wall - pureWork).TotalSeconds:N2} s |");
            Console.WriteLine($"| worker peak RSS (VmHWM) | {string.Join(" / ", run.Rss.Select(r => r.ToString("N0", CultureInfo.InvariantCulture) + " MB"))} |");
            Console.WriteLine($"| raw MassTransit send + consume of {files:N0} messages | {run.Raw.TotalSeconds:N2} s ({files / run.Raw.TotalSeconds:N0} msg/s) |");
            Console.WriteLine($"| ratio scan session / raw | {run.Wall.TotalSeconds / run.Raw.TotalSeconds:N1}× |");
            Console.WriteLine();
            Console.WriteLine($"timeline: {run.Timeline}");
            Console.WriteLine($"recorded: {run.Recorded}");
            Console.WriteLine($"CPU during the session: {run.Cpu}");
            Console.WriteLine(run.WarmUp is { } warmUp ? $"measured after warm-up sessions in the same processes ({warmUp}); --cold measures fresh processes" : "cold: the processes' first session (--cold)");
            Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}");
        }

        if (results.Count > 1)
        {
            Console.WriteLine();
            Console.WriteLine("## side by side");
            Console.WriteLine();
            Console.WriteLine($"| measure | {string.Join(" | ", results.Select(r => r.Label))} |");
            Console.WriteLine($"|---|{string.Concat(results.Select(_ => "---:|"))}");
            Console.WriteLine($"| raw MassTransit send + consume of {files:N0} messages | {string.Join(" | ", results.Select(r => $"{r.Raw.TotalSeconds:N2} s"))} |");
            Console.WriteLine($"| raw messages/s (send + consume) | {string.Join(" | ", results.Select(r => $"{files / r.Raw.TotalSeconds:N0}"))} |");
            Console.WriteLine($"| scan session, start → ScanSessionCompleted | {string.Join(" | ", results.Select(r => $"{r.Wall.TotalSeconds:N2} s"))} |");
            Console.WriteLine($"| scan session files/s | {string.Join(" | ", results.Select(r => $"{files / r.Wall.TotalSeconds:N0}"))} |");
            Console.WriteLine($"| ratio scan session / raw | {string.Join(" | ", results.Select(r => $"{r.Wall.TotalSeconds / r.Raw.TotalSeconds:N1}×"))} |");
            Console.WriteLine($"| worker peak RSS | {string.Join(" | ", results.Select(r => string.Join(" / ", r.Rss.Select(m => m.ToString("N0", CultureInfo.InvariantCulture) + " MB"))))} |");
        }

        // With scanned files the text files' matches must be exact and the scanned ones' recall and precision high: OCR is judged, not assumed perfect.
        var exact = results.All(r => r.Failure is null && r.Processed == files && (r.Scanned is { } scanned
            ? r.Matches - scanned.Found - scanned.Wrong == ExpectedMatches(files) - scanned.Truth && scanned.Errors == 0 && scanned.Recall >= 0.95 && scanned.Precision >= 0.98
            : r.Matches == ExpectedMatches(files)));
        // The targets are RabbitMQ's, the production broker measured here; the emulator's figures are reported, not judged.
        var rabbit = results.FirstOrDefault(r => r.Transport == BenchmarkBrokers.RabbitMq);
        // A large archive is judged on memory only: its wall time is mostly extraction of a gigabyte of text; a scanned run's wall time is mostly OCR, reported beside the all-text run.
        var targetsMet = rabbit is null || ((archiveMib > 0 || scannedPercent > 0 || (rabbit.Wall - (pureWork / parallelism)).TotalSeconds <= 15) && rabbit.Rss.All(r => r < 500));
        Console.WriteLine();
        foreach (var failed in results.Where(r => r.Failure is not null))
            Console.WriteLine($"SESSION FAILED on {failed.Label}: {failed.Failure}");
        Console.WriteLine(!exact ? "COUNTS NOT EXACT" : targetsMet ? "targets met: exact counts on every broker; on RabbitMQ overhead <= 15 s and RSS < 500 MB" : "TARGET MISSED: see the RabbitMQ table");
        File.Delete(zipPath);
        if (warmUpZip is not null)
            File.Delete(warmUpZip);

        // The quick run is the test command's smoke test: it checks correctness only, never time.
        return exact && (quick || targetsMet) ? 0 : 1;
    }

    private sealed record SessionRun(string Transport, string Label, long Processed, long Matches, TimeSpan Wall, IReadOnlyList<double> Rss, TimeSpan Raw, string Timeline, string? Failure)
    {
        public ScannedOutcome? Scanned { get; init; }

        public string Recorded { get; init; } = "";

        /// <summary>CPU seconds per process group during the measured session.</summary>
        public string Cpu { get; init; } = "";

        /// <summary>The warm-up session's wall time, in the processes still compiling; null with --cold.</summary>
        public string? WarmUp { get; init; }

        public int OcrPages { get; init; }

        public double OcrSeconds { get; init; }
    }

    /// <summary>The scanned files' (code, file) pairs against the codes typeset into them.</summary>
    private sealed record ScannedOutcome(int Truth, int Found, int Wrong, int Errors)
    {
        public double Recall => Truth == 0 ? 1 : (double)Found / Truth;

        public double Precision => Found + Wrong == 0 ? 1 : (double)Found / (Found + Wrong);
    }

    private static async Task<SessionRun> RunSessionAsync(IBenchmarkBroker broker, string zipPath, int files, int workerCount, bool largeArchive, int scannedPercent, (string Zip, int Files, int MinSessions, int MaxSessions)? warmUp)
    {
        await using var database = await BenchmarkServers.CreateDatabaseAsync();
        var root = Path.Combine(Path.GetTempPath(), "sagas-bench-scan-" + Guid.NewGuid().ToString("N")[..8]);
        var blobRoot = Path.Combine(root, "blobs");
        var outcome = new SessionOutcome();
        using var coordinator = BuildCoordinator(broker, database.ConnectionString, blobRoot, outcome);
        await coordinator.StartAsync();
        var workers = new List<HostProcess>();
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            for (var i = 0; i < workerCount; i++)
                workers.Add(HostProcess.Start("Sagas.Worker", WorkerSettings(broker, database.ConnectionString, blobRoot)));
            foreach (var worker in workers)
                await worker.WaitUntilReadyAsync(probe, TimeSpan.FromSeconds(60));

            var blobs = coordinator.Services.GetRequiredService<IBlobStore>();
            var bus = coordinator.Services.GetRequiredService<IBus>();
            string? coldTimeline = null;
            if (warmUp is { } warmUpRun)
            {
                // Long-lived workers have compiled the scan path at its final tier; a fresh process is still compiling
                // through its first sessions. Warm up until the workers' tiered-compilation threads go nearly quiet.
                var warmUps = new List<string>();
                for (var round = 1; round <= warmUpRun.MaxSessions; round++)
                {
                    var compiledBefore = CpuShares.CompilingSeconds(workers.Select(w => w.ProcessId));
                    var warm = await ScanOnceAsync(blobs, bus, outcome, warmUpRun.Zip, TimeSpan.FromMinutes(10));
                    if (warm.Failure is { } warmFailure)
                        return new SessionRun(broker.Name, broker.Label, 0, 0, warm.Wall, [], TimeSpan.Zero, warm.Timeline, "warm-up session: " + warmFailure);
                    var compiled = CpuShares.CompilingSeconds(workers.Select(w => w.ProcessId)) - compiledBefore;
                    warmUps.Add($"{warm.Wall.TotalSeconds:N2} s, workers compiling {compiled:N2} s");
                    if (compiled < CpuShares.QuietCompileSeconds && round >= warmUpRun.MinSessions)
                        break;
                }

                coldTimeline = $"{warmUps.Count} × {warmUpRun.Files:N0} text files: {string.Join("; ", warmUps)}";
            }

            var self = Environment.ProcessId;
            var workerIds = workers.Select(w => w.ProcessId).ToHashSet();
            var cpu = new CpuShares(
            [
                ("coordinator", (pid, _) => pid == self),
                ("workers", (pid, _) => workerIds.Contains(pid)),
                ("PostgreSQL", (_, name) => name.StartsWith("postgres", StringComparison.Ordinal)),
                ("broker", (_, name) => name is "beam.smp" or "node" or "erl_child_setup"),
            ]);
            // For a profiler to attach to the measured session only.
            Console.Error.WriteLine($"measuring the session: coordinator pid {self}, worker pids {string.Join(",", workerIds)}");
            var compiling = CpuShares.CompilingSeconds(workers.Select(w => w.ProcessId));
            var session = await ScanOnceAsync(blobs, bus, outcome, zipPath, TimeSpan.FromMinutes(largeArchive || scannedPercent > 0 ? 40 : 10));
            if (session.Failure is { } failure)
                return new SessionRun(broker.Name, broker.Label, 0, 0, session.Wall, [], TimeSpan.Zero, session.Timeline, failure);

            var result = session.Completed!;
            var cpuShares = cpu.Since() + $"; of the workers' CPU, compiling {CpuShares.CompilingSeconds(workers.Select(w => w.ProcessId)) - compiling:N2} s";
            var rss = workers.Select(p => p.PeakResidentMegabytes() ?? double.NaN).ToList();
            var raw = await broker.RawSendConsumeAsync(files);
            await using var scope = coordinator.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
            var row = await db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == session.SessionId);
            return new SessionRun(broker.Name, broker.Label, result.TotalProcessed, result.TotalMatches, session.Wall, rss, raw, session.Timeline, null)
            {
                Recorded = await RecordedTimelineAsync(db, row, session.StartedAt),
                WarmUp = coldTimeline,
                Cpu = cpuShares,
                Scanned = scannedPercent > 0 ? await ScannedOutcomeAsync(db, session.SessionId, files, scannedPercent) : null,
                OcrPages = row.OcrPages,
                OcrSeconds = row.OcrMilliseconds / 1000.0,
            };
        }
        finally
        {
            foreach (var worker in workers)
                await worker.DisposeAsync();
            await coordinator.StopAsync();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is harmless.
            }
        }
    }

    private sealed record OneSession(Guid SessionId, DateTimeOffset StartedAt, TimeSpan Wall, string Timeline, ScanSessionCompleted? Completed, string? Failure);

    /// <summary>Uploads the archive, starts a session on it and waits for its end; the clock runs from the publish.</summary>
    private static async Task<OneSession> ScanOnceAsync(IBlobStore blobs, IBus bus, SessionOutcome outcome, string zipPath, TimeSpan limit)
    {
        var sessionId = NewId.NextGuid();
        var key = $"scan-uploads/{sessionId:N}/upload-00000";
        await using (var upload = File.OpenRead(zipPath))
            await blobs.PutAsync(key, upload, "application/zip");

        var watch = outcome.Follow(sessionId);
        var startedAt = DateTimeOffset.UtcNow;
        watch.Clock.Start();
        await bus.Publish(new StartScanSession(sessionId, new ScanSource(Uploads: [new ScanUpload(key, "bench.zip")]), Codes, "benchmark"));
        var finished = await Task.WhenAny(watch.Completed.Task, watch.Failed.Task).WaitAsync(limit);
        var wall = watch.Clock.Elapsed;
        return finished == watch.Failed.Task
            ? new OneSession(sessionId, startedAt, wall, watch.Timeline(), null, watch.Failed.Task.Result.Reason)
            : new OneSession(sessionId, startedAt, wall, watch.Timeline(), watch.Completed.Task.Result, null);
    }

    /// <summary>
    /// Where the session's time went as its own rows tell it (the same clock as the start instant): when the dispatcher
    /// took the session, when its listing was stored, and how the batches were counted over time.
    /// </summary>
    private static async Task<string> RecordedTimelineAsync(SagasDbContext db, ScanSession session, DateTimeOffset startedAt)
    {
        var batches = await db.Set<ScanFileResult>().AsNoTracking()
            .Where(r => r.SessionId == session.Id)
            .GroupBy(r => r.ProcessedAt)
            .Select(g => new { At = g.Key, Files = g.Count() })
            .OrderBy(b => b.At)
            .ToListAsync();
        string At(DateTimeOffset? instant) => instant is { } value ? $"+{(value - startedAt).TotalSeconds:N2} s" : "-";
        var deciles = string.Join(" ", Enumerable.Range(1, 10).Select(decile =>
        {
            var needed = session.ProcessedFiles * decile / 10;
            var running = 0;
            var reached = batches.FirstOrDefault(b => (running += b.Files) >= needed);
            return $"{decile * 10}%{At(reached?.At)}";
        }));
        return $"dispatcher took it {At(session.CreatedAt)}, listing stored {At(session.DispatchedAt)}, {batches.Count:N0} batches counted (mean {batches.Average(b => b.Files):N0} files), first {At(batches.FirstOrDefault()?.At)}, counted by {deciles}";
    }

    private static async Task<ScannedOutcome> ScannedOutcomeAsync(SagasDbContext db, Guid sessionId, int files, int scannedPercent)
    {
        var rows = await db.Set<ScanFileResult>().AsNoTracking()
            .Where(r => r.SessionId == sessionId && r.Name.EndsWith(".pdf"))
            .Select(r => new { r.Name, r.MatchedCodesJson, r.Error })
            .ToListAsync();
        var truth = 0;
        var found = 0;
        var wrong = 0;
        var errors = 0;
        foreach (var row in rows)
        {
            var index = int.Parse(Path.GetFileNameWithoutExtension(row.Name).AsSpan("sheet-".Length), CultureInfo.InvariantCulture);
            var expected = index % 3 == 0 ? $"HOLE-{index % 200}" : null;
            var codes = System.Text.Json.JsonSerializer.Deserialize<string[]>(row.MatchedCodesJson) ?? [];
            if (row.Error is not null)
            {
                errors++;
                Console.Error.WriteLine($"  {row.Name}: {row.Error}");
            }

            truth += expected is null ? 0 : 1;
            found += codes.Count(code => code == expected);
            wrong += codes.Count(code => code != expected);
            foreach (var code in codes.Where(code => code != expected))
                Console.Error.WriteLine($"  wrong {code} in {row.Name}");
            if (expected is not null && !codes.Contains(expected))
                Console.Error.WriteLine($"  missed {expected} in {row.Name}");
        }

        if (rows.Count != Enumerable.Range(0, files).Count(i => IsScanned(i, scannedPercent)))
            Console.Error.WriteLine($"  {rows.Count} scanned results recorded");
        return new ScannedOutcome(truth, found, wrong, errors);
    }

    /// <summary>Every (100 / percent)-th file, spread evenly: 10 % is files 0, 10, 20, …</summary>
    private static bool IsScanned(int index, int scannedPercent) => scannedPercent > 0 && index * scannedPercent % 100 < scannedPercent;

    /// <summary>
    /// File i holds HOLE-{i % 200} when i % 3 == 0; the others hold near misses (HOLE-{i}0, HOLE-{i}-B). With
    /// <paramref name="archiveBytes"/>, each file is padded with stored (uncompressed) lowercase words so that the archive
    /// reaches about that size; the padding can never spell a code. With <paramref name="scannedPercent"/>, that share
    /// of the files are instead image-only PDFs of a scanned label carrying the same code or near misses; a label is
    /// scanned once per distinct text and reused (generating hundreds of scans would take longer than reading them).
    /// </summary>
    /// <returns>The archive's size in bytes.</returns>
    private static long BuildZip(string path, int files, long archiveBytes, int scannedPercent = 0)
    {
        var scans = new Dictionary<string, byte[]>();
        var padding = archiveBytes > 0 ? (int)Math.Max(400, (archiveBytes / files) - 200) : 400;
        var words = new char[padding + 4096];
        var random = new Random(42);
        for (var i = 0; i < words.Length; i++)
            words[i] = i % 9 == 8 ? ' ' : (char)('a' + random.Next(26));

        using (var file = File.Create(path))
        using (var archive = new ZipArchive(file, ZipArchiveMode.Create))
        {
            for (var i = 0; i < files; i++)
            {
                if (IsScanned(i, scannedPercent))
                {
                    string[] lines = i % 3 == 0
                        ? [$"Hole reference HOLE-{i % 200}", "at grid C4. Revision B."]
                        : [$"References HOLE-{i % 200}0x", $"and HOLE_{i % 200} only."];
                    var key = string.Join('\n', lines);
                    if (!scans.TryGetValue(key, out var pdf))
                    {
                        var label = ScannedFiles.ScanPage(lines, new ScannedFiles.Look(200, RotationDegrees: ((i % 7) - 3) * 0.25, Seed: i, Label: true), fontSize: 12);
                        scans[key] = pdf = ScannedFiles.ImageOnlyPdf([label], 200);
                    }

                    using var scan = archive.CreateEntry($"drawings/sheet-{i:D5}.pdf", CompressionLevel.NoCompression).Open();
                    scan.Write(pdf);
                    continue;
                }

                var entry = archive.CreateEntry($"drawings/sheet-{i:D5}.txt", archiveBytes > 0 ? CompressionLevel.NoCompression : CompressionLevel.Fastest);
                using var writer = new StreamWriter(entry.Open(), Encoding.UTF8);
                writer.Write($"Drawing sheet {i}. Revision B. Notes: drill per schedule. ");
                writer.Write(i % 3 == 0 ? $"Hole reference HOLE-{i % 200} at grid C4." : $"References HOLE-{i}0x and HOLE_{i} only.");
                if (archiveBytes > 0)
                    writer.Write(' ');
                writer.Write(archiveBytes > 0 ? words.AsSpan(i % 4096, padding) : new string('.', 400));
            }
        }

        return new FileInfo(path).Length;
    }

    private static int ExpectedMatches(int files) => (files + 2) / 3;

    /// <summary>
    /// Extract + match of every file, single thread, on bytes already in memory: the work a file needs whatever
    /// carries it. Getting the bytes (reopening the archive per file, as the worker does) counts as overhead. Measured on
    /// at most 2,000 files and scaled to all of them, so a large archive is never held in memory here.
    /// </summary>
    private static TimeSpan MeasurePureWork(string zipPath, int total)
    {
        var services = new ServiceCollection().AddScanFiles(new ConfigurationBuilder().Build()).BuildServiceProvider();
        var extractor = services.GetRequiredService<ITextExtractor>();
        var files = new List<(string Name, byte[] Content)>();
        using (var archive = ZipFile.OpenRead(zipPath))
        {
            foreach (var entry in archive.Entries.Take(2_000))
            {
                using var content = new MemoryStream();
                using (var stream = entry.Open())
                    stream.CopyTo(content);
                files.Add((entry.Name, content.ToArray()));
            }
        }

        for (var pass = 0; pass < 2; pass++)
        {
            var clock = Stopwatch.StartNew();
            foreach (var (name, content) in pass == 0 ? files.Take(100) : files)
                FileScan.Run(extractor, HoleCodeMatcher.Create(Codes), name, content);
            if (pass == 1)
                return clock.Elapsed * ((double)total / files.Count);
        }

        throw new UnreachableException();
    }

    private static IHost BuildCoordinator(IBenchmarkBroker broker, string connectionString, string blobRoot, SessionOutcome outcome)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(broker.HostSettings.Select(setting => KeyValuePair.Create(setting.Key, (string?)setting.Value)));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = connectionString,
            ["Worker:Roles"] = "scan-sessions",
            ["Storage:Provider"] = "Local",
            ["Storage:Local:Root"] = blobRoot,
            ["Storage:Local:SigningKey"] = SigningKey,
            ["ScanSessions:Files:MaxUploadBytes"] = LargeUploadLimit,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Services.AddSingleton(outcome);
        builder.AddSagas("scan-session-benchmark", SagasWorkflows.Catalog, x => x.AddConsumer<SessionOutcomeConsumer>().Endpoint(e => e.Name = "bench-scan-outcome"));
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        return builder.Build();
    }

    /// <summary>A Sagas.Worker with only the scan-files role, sharing the coordinator's database, broker and blob folder.</summary>
    /// <summary>
    /// Environment variables with this prefix reach the workers only, without it (e.g. <c>SAGAS_BENCH_WORKER_DOTNET_GCGen0MaxBudget</c>):
    /// runtime settings tried on the workers must not change the coordinator in this process.
    /// </summary>
    private const string WorkerOnlyPrefix = "SAGAS_BENCH_WORKER_";

    private static Dictionary<string, string> WorkerSettings(IBenchmarkBroker broker, string connectionString, string blobRoot)
    {
        var settings = new Dictionary<string, string>(broker.HostSettings)
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = connectionString,
            ["Database:MigrateAtStartup"] = "false",
            ["Worker:Roles"] = "scan-files",
            ["Storage:Provider"] = "Local",
            ["Storage:Local:Root"] = blobRoot,
            ["Storage:Local:SigningKey"] = SigningKey,
            ["ScanSessions:Files:MaxUploadBytes"] = LargeUploadLimit,
        };
        foreach (var (key, value) in Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().Select(e => ((string)e.Key, e.Value as string)))
        {
            if (key.StartsWith(WorkerOnlyPrefix, StringComparison.Ordinal) && value is not null)
                settings[key[WorkerOnlyPrefix.Length..]] = value;
        }

        return settings;
    }

    /// <summary>The session the benchmark is watching now; events of any other session (a warm-up's late ones) are ignored.</summary>
    private sealed class SessionOutcome
    {
        private volatile SessionWatch? _current;

        public SessionWatch Follow(Guid sessionId) => _current = new SessionWatch(sessionId);

        public SessionWatch? Of(Guid sessionId) => _current is { } current && current.SessionId == sessionId ? current : null;
    }

    private sealed class SessionWatch(Guid sessionId)
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TimeSpan> _milestones = new();

        public Guid SessionId { get; } = sessionId;

        public TaskCompletionSource<ScanSessionCompleted> Completed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<ScanSessionFailed> Failed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Stopwatch Clock { get; } = new();

        public void Reached(string milestone) => _milestones.TryAdd(milestone, Clock.Elapsed);

        /// <summary>When each phase was first seen, from the start: where the wall time goes.</summary>
        public string Timeline() => string.Join(", ", _milestones.OrderBy(m => m.Value).Select(m => $"{m.Key} +{m.Value.TotalSeconds:N2} s"));
    }

    private sealed class SessionOutcomeConsumer(SessionOutcome outcome) :
        IConsumer<ScanSessionCompleted>, IConsumer<ScanSessionFailed>, IConsumer<ScanFilesDispatched>, IConsumer<ScanProgressed>,
        IConsumer<ScanFilesCompleted>, IConsumer<ScanReportBuilt>
    {
        public Task Consume(ConsumeContext<ScanSessionCompleted> context)
        {
            if (outcome.Of(context.Message.SessionId) is { } watch)
            {
                watch.Reached("completed");
                watch.Completed.TrySetResult(context.Message);
            }

            return Task.CompletedTask;
        }

        public Task Consume(ConsumeContext<ScanFilesDispatched> context)
        {
            outcome.Of(context.Message.SessionId)?.Reached("all files dispatched");
            return Task.CompletedTask;
        }

        public Task Consume(ConsumeContext<ScanProgressed> context)
        {
            if (outcome.Of(context.Message.SessionId) is { } watch)
            {
                watch.Reached("first progress");
                if (context.Message.Percent >= 50)
                    watch.Reached("50 %");
            }

            return Task.CompletedTask;
        }

        public Task Consume(ConsumeContext<ScanFilesCompleted> context)
        {
            outcome.Of(context.Message.SessionId)?.Reached("all files counted");
            return Task.CompletedTask;
        }

        public Task Consume(ConsumeContext<ScanReportBuilt> context)
        {
            outcome.Of(context.Message.SessionId)?.Reached("report built");
            return Task.CompletedTask;
        }

        public Task Consume(ConsumeContext<ScanSessionFailed> context)
        {
            outcome.Of(context.Message.SessionId)?.Failed.TrySetResult(context.Message);
            return Task.CompletedTask;
        }
    }
}
