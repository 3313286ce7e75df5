using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;
using ClosedXML.Excel;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sagas.Contracts.ScanSessions;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;
using Sagas.Integration.Tests.Transports.AmazonSqs;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.StateMachines;
using Sagas.Storage.Blobs;
using Sagas.Workflows;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace Sagas.Integration.Tests.ScanSessions;

/// <summary>What the specs observe on the bus, per session.</summary>
public sealed class ScanEventLog
{
    public ConcurrentDictionary<Guid, int> MatchesFound { get; } = new();

    public ConcurrentDictionary<Guid, int> FilesCompleted { get; } = new();

    public ConcurrentDictionary<Guid, ConcurrentBag<int>> ProgressPercents { get; } = new();

    public ConcurrentDictionary<Guid, int> FilesEchoed { get; } = new();

    /// <summary>The dispatcher's messages to the file workers, per session (counted by the echo consumer).</summary>
    public ConcurrentDictionary<Guid, int> ChunksEchoed { get; } = new();

    /// <summary>Single-file messages seen by the echo consumer: the dispatcher sends none, only retries do.</summary>
    public ConcurrentDictionary<Guid, int> SingleFilesSeen { get; } = new();

    public ConcurrentDictionary<Guid, ConcurrentBag<ScanMatchFound>> Matches { get; } = new();

    public ConcurrentDictionary<Guid, ConcurrentBag<ScanProgressed>> Progress { get; } = new();
}

public sealed class ScanEventLogConsumer(ScanEventLog log) : IConsumer<ScanMatchFound>, IConsumer<ScanFilesCompleted>, IConsumer<ScanProgressed>
{
    public Task Consume(ConsumeContext<ScanMatchFound> context)
    {
        log.Matches.GetOrAdd(context.Message.SessionId, _ => []).Add(context.Message);
        log.MatchesFound.AddOrUpdate(context.Message.SessionId, 1, (_, count) => count + 1);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<ScanFilesCompleted> context)
    {
        log.FilesCompleted.AddOrUpdate(context.Message.SessionId, 1, (_, count) => count + 1);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<ScanProgressed> context)
    {
        log.Progress.GetOrAdd(context.Message.SessionId, _ => []).Add(context.Message);
        log.ProgressPercents.GetOrAdd(context.Message.SessionId, _ => []).Add(context.Message.Percent);
        return Task.CompletedTask;
    }
}

/// <summary>Delivers every <see cref="ScanFileChunk"/> a second time, as a broker redelivery would.</summary>
public sealed class ScanFileEchoConsumer(ScanEventLog log) : IConsumer<ScanFileChunk>, IConsumer<ScanFile>
{
    public const string Header = "x-spec-echo";

    public async Task Consume(ConsumeContext<ScanFileChunk> context)
    {
        if (context.Headers.TryGetHeader(Header, out _))
            return;

        await context.Publish(context.Message, publish => publish.Headers.Set(Header, "1"));
        log.ChunksEchoed.AddOrUpdate(context.Message.SessionId, 1, (_, count) => count + 1);
        log.FilesEchoed.AddOrUpdate(context.Message.SessionId, context.Message.Files.Count, (_, count) => count + context.Message.Files.Count);
    }

    public Task Consume(ConsumeContext<ScanFile> context)
    {
        log.SingleFilesSeen.AddOrUpdate(context.Message.SessionId, 1, (_, count) => count + 1);
        return Task.CompletedTask;
    }
}

public sealed class ScanSessionHost : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly string _root;

    private ScanSessionHost(IHost host, string root)
    {
        _host = host;
        _root = root;
    }

    public IServiceProvider Services => _host.Services;

    public ScanEventLog Events => Services.GetRequiredService<ScanEventLog>();

    public static Task<ScanSessionHost> StartAsync(PostgresDatabase database, ITestTransport transport, bool echoFiles) =>
        StartAsync(database, transport.HostSettings, echoFiles);

    /// <param name="configure">Runs before the workflows are added: settings given here win over the defaults above.</param>
    /// <param name="logs">Receives every log line of the host (AddSagas replaces the providers set before it).</param>
    public static async Task<ScanSessionHost> StartAsync(
        PostgresDatabase database,
        IReadOnlyDictionary<string, string?> transportSettings,
        bool echoFiles,
        Action<HostApplicationBuilder>? configure = null,
        ILoggerProvider? logs = null)
    {
        var root = Path.Combine(Path.GetTempPath(), $"sagas-scan-{Guid.NewGuid():N}");
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(transportSettings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = database.ConnectionString,
            ["Worker:Roles"] = "scan-sessions,scan-files",
            ["Storage:Provider"] = "Local",
            ["Storage:Local:Root"] = Path.Combine(root, "blobs"),
            ["Storage:Local:SigningKey"] = new string('k', 40),
            ["ScanSessions:ProgressInterval"] = "00:00:00",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        configure?.Invoke(builder);
        builder.Services.AddSingleton<ScanEventLog>();
        builder.AddSagas("scan-session-specs", SagasWorkflows.Catalog, x =>
        {
            x.AddConsumer<ScanEventLogConsumer>().Endpoint(e => e.Name = "scan-spec-events");
            if (echoFiles)
                x.AddConsumer<ScanFileEchoConsumer>().Endpoint(e => e.Name = "scan-spec-echo");
        });
        if (logs is not null)
        {
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddProvider(logs);
        }

        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        var host = builder.Build();
        await host.StartAsync();
        return new ScanSessionHost(host, root);
    }

    public async Task<T> QueryAsync<T>(Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }

    public async Task<string> WaitForSagaAsync(Guid sessionId, string state, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            var current = await QueryAsync(db => db.Set<ScanSessionState>().AsNoTracking().Where(s => s.CorrelationId == sessionId).Select(s => s.CurrentState).SingleOrDefaultAsync());
            if (current == state)
                return current;
            await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}

public sealed class When_a_scan_session_runs_on_rabbitmq_and_postgresql(TransportServers<RabbitMqTestTransport> servers)
    : ScanSessionEndToEndSpecs<RabbitMqTestTransport>(servers);

public sealed class When_a_scan_session_runs_on_amazon_sqs_and_postgresql(TransportServers<AmazonSqsTestTransport> servers)
    : ScanSessionEndToEndSpecs<AmazonSqsTestTransport>(servers);

/// <summary>The scan-session end-to-end specs, one body for every transport (a class per transport above).</summary>
public abstract class ScanSessionEndToEndSpecs<TTransport> : IClassFixture<TransportServers<TTransport>>
    where TTransport : class, ITestTransport, new()
{
    private const int PdfFiles = 120;
    private const int TextFiles = 120;
    private readonly PostgresDatabase _database;
    private readonly TTransport _broker;

    protected ScanSessionEndToEndSpecs(TransportServers<TTransport> servers)
    {
        _database = servers.Database;
        _broker = servers.Transport;
    }

    [TransportFact]
    public async Task Should_count_every_file_once_although_each_is_delivered_twice_and_write_the_workbook()
    {
        await using var host = await ScanSessionHost.StartAsync(_database, _broker, echoFiles: true);
        var (zip, expectedMatches, expectedMatchedFiles) = Archive();
        var blobs = host.Services.GetRequiredService<IBlobStore>();
        var sessionId = NewId.NextGuid();
        var key = $"scan-uploads/{sessionId:N}/drawings.zip";
        await blobs.PutAsync(key, new MemoryStream(zip), "application/zip");

        await host.Services.GetRequiredService<IBus>().Publish(new StartScanSession(
            sessionId, new ScanSource(Uploads: [new ScanUpload(key, "drawings.zip")]), ["EB-101", "EB-202", "GH-7"], "specs"));

        Assert.Equal("Completed", await host.WaitForSagaAsync(sessionId, "Completed", TimeSpan.FromSeconds(120)));
        var session = await host.QueryAsync(db => db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId));
        var results = await host.QueryAsync(db => db.Set<ScanFileResult>().AsNoTracking().Where(r => r.SessionId == sessionId).ToListAsync());

        // Every file plus the archive's unsafe entry, which is recorded as an Error without being read.
        const int total = PdfFiles + TextFiles + 1;
        Assert.Equal(ScanSessionStatus.Completed, session.Status);
        Assert.Equal(total, session.TotalFiles);
        Assert.Equal(total, session.ProcessedFiles);
        Assert.Equal(total, results.Count);
        Assert.Equal(Enumerable.Range(0, total), results.Select(r => r.FileIndex).Order());
        Assert.Equal(expectedMatches, session.TotalMatches);
        Assert.Equal(expectedMatchedFiles, session.MatchedFiles);
        Assert.Equal(1, session.ErrorFiles);
        Assert.Equal("Error", Assert.Single(results, r => r.Error is not null).Status);
        Assert.Equal(expectedMatches, results.Sum(r => r.MatchCount));
        Assert.Equal("2 Codes", results.Single(r => r.Name == "pdf-000.pdf").Status);

        // Events leave the outbox after the commit; wait for them without assuming when.
        await WaitUntilAsync(() => host.Events.MatchesFound.GetValueOrDefault(sessionId) >= expectedMatches && host.Events.FilesCompleted.ContainsKey(sessionId));
        Assert.Equal(expectedMatches, host.Events.MatchesFound[sessionId]);
        Assert.Equal(1, host.Events.FilesCompleted[sessionId]);
        await WaitUntilAsync(() => host.Events.FilesEchoed.GetValueOrDefault(sessionId) == total);

        // 241 files in chunks of at most ScanSessions:FilesPerMessage (100): three messages to the workers, not 241.
        Assert.Equal(3, host.Events.ChunksEchoed[sessionId]);
        Assert.Equal(0, host.Events.SingleFilesSeen.GetValueOrDefault(sessionId));
        var recounted = await host.QueryAsync(db => db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId));
        Assert.Equal((total, expectedMatches), (recounted.ProcessedFiles, recounted.TotalMatches));
        Assert.Equal(total, await host.QueryAsync(db => db.Set<ScanFileResult>().CountAsync(r => r.SessionId == sessionId)));
        Assert.Contains(100, host.Events.ProgressPercents[sessionId]);
        Assert.Equal(host.Events.ProgressPercents[sessionId].Count, host.Events.ProgressPercents[sessionId].Distinct().Count());

        Assert.Equal($"scan-reports/{sessionId:D}.xlsx", session.ReportBlobKey);
        await using var report = await blobs.OpenReadAsync(session.ReportBlobKey!);
        using var copy = new MemoryStream();
        await report.Content.CopyToAsync(copy);
        using var workbook = new XLWorkbook(copy);
        var files = workbook.Worksheet("Files");
        Assert.Equal(total + 1, files.LastRowUsed()!.RowNumber());
        var matches = workbook.Worksheet("Matches");
        Assert.Equal(expectedMatches + 1, matches.LastRowUsed()!.RowNumber());
        var codesInSheet = Enumerable.Range(2, expectedMatches).Select(row => matches.Cell(row, 1).GetString()).ToList();
        Assert.Equal(PdfFiles / 2, codesInSheet.Count(code => code == "EB-202"));
    }

    [TransportFact]
    public async Task Should_fail_a_session_without_codes_with_a_clear_reason()
    {
        await using var host = await ScanSessionHost.StartAsync(_database, _broker, echoFiles: false);
        var blobs = host.Services.GetRequiredService<IBlobStore>();
        var sessionId = NewId.NextGuid();
        var key = $"scan-uploads/{sessionId:N}/a.txt";
        await blobs.PutAsync(key, new MemoryStream("EB-101"u8.ToArray()), "text/plain");

        await host.Services.GetRequiredService<IBus>().Publish(new StartScanSession(
            sessionId, new ScanSource(Uploads: [new ScanUpload(key, "a.txt")]), [" "], "specs"));

        Assert.Equal("Failed", await host.WaitForSagaAsync(sessionId, "Failed", TimeSpan.FromSeconds(60)));
        var reason = await host.QueryAsync(db => db.Set<ScanSessionState>().AsNoTracking().Where(s => s.CorrelationId == sessionId).Select(s => s.FailureReason).SingleAsync());
        Assert.Equal(Sagas.ScanSessions.Matching.HoleCodeList.EmptyListError, reason);
    }

    [TransportFact]
    public async Task Should_end_cancelled_when_the_cancel_overtakes_the_start()
    {
        await using var host = await ScanSessionHost.StartAsync(_database, _broker, echoFiles: false);
        var blobs = host.Services.GetRequiredService<IBlobStore>();
        var sessionId = NewId.NextGuid();
        var key = $"scan-uploads/{sessionId:N}/a.txt";
        await blobs.PutAsync(key, new MemoryStream("EB-101"u8.ToArray()), "text/plain");
        var bus = host.Services.GetRequiredService<IBus>();

        await bus.Publish(new CancelScanSession(sessionId));
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (!await host.QueryAsync(db => db.Set<ScanSession>().AnyAsync(s => s.Id == sessionId && s.Status == ScanSessionStatus.Cancelled)))
                await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
        }

        await bus.Publish(new StartScanSession(sessionId, new ScanSource(Uploads: [new ScanUpload(key, "a.txt")]), ["EB-101"], "specs"));

        Assert.Equal("Cancelled", await host.WaitForSagaAsync(sessionId, "Cancelled", TimeSpan.FromSeconds(60)));
        Assert.Equal(0, await host.QueryAsync(db => db.Set<ScanFileResult>().CountAsync(r => r.SessionId == sessionId)));
    }

    /// <summary>
    /// A ZIP of PDFs (every other one holds EB-101 and EB-202) and text files (every third holds GH-7), with the
    /// matches and matched files it should produce.
    /// </summary>
    private static (byte[] Zip, int Matches, int MatchedFiles) Archive()
    {
        var matches = 0;
        var matchedFiles = 0;
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < PdfFiles; i++)
            {
                // Half the PDFs hold two codes, the other half none: EB-202 appears in PdfFiles / 2 files.
                var lines = i % 2 == 0
                    ? new[] { $"Drawing {i}", "Hole EB-101 and hole EB-202", "end" }
                    : new[] { $"Drawing {i}", "no hole here", "end" };
                if (i % 2 == 0)
                {
                    matches += 2;
                    matchedFiles++;
                }

                Add(zip, $"pdf-{i:000}.pdf", Pdf(lines));
            }

            for (var i = 0; i < TextFiles; i++)
            {
                var text = i % 3 == 0 ? $"note {i}: GH-7 drilled" : $"note {i}: nothing";
                if (i % 3 == 0)
                {
                    matches++;
                    matchedFiles++;
                }

                Add(zip, $"notes/text-{i:000}.txt", Encoding.UTF8.GetBytes(text));
            }

            Add(zip, "../outside/escape.txt", "EB-101"u8.ToArray());
        }

        return (buffer.ToArray(), matches, matchedFiles);
    }

    private static void Add(ZipArchive zip, string name, byte[] content)
    {
        using var entry = zip.CreateEntry(name).Open();
        entry.Write(content);
    }

    internal static byte[] Pdf(IEnumerable<string> lines)
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        var page = builder.AddPage(PageSize.A4);
        var y = 780.0;
        foreach (var line in lines)
        {
            page.AddText(line, 11, new PdfPoint(40, y), font);
            y -= 16;
        }

        return builder.Build();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
            await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
    }
}
