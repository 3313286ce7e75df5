using System.IO.Compression;
using System.Text;
using MassTransit;
using MassTransit.Events;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Contracts.ScanSessions;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Sources;
using Sagas.Storage.Blobs;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.ScanSessions;

/// <summary>An extractor that breaks its own contract (it throws) for one file name: a poison file.</summary>
public sealed class PoisonExtractor(TextExtractor inner) : ITextExtractor
{
    public const string PoisonName = "poison.txt";

    public TextExtraction Extract(string fileName, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default) =>
        fileName == PoisonName ? throw new InvalidOperationException("the extractor broke on this file") : inner.Extract(fileName, content, cancellationToken);

    public Task<TextExtraction> ExtractAsync(string fileName, Stream content, CancellationToken cancellationToken = default) =>
        fileName == PoisonName ? throw new InvalidOperationException("the extractor broke on this file") : inner.ExtractAsync(fileName, content, cancellationToken);
}

public sealed class When_scan_files_arrive_in_batches_on_postgresql : IClassFixture<PostgresDatabase>
{
    private const int Files = 12;
    private readonly PostgresDatabase _database;

    public When_scan_files_arrive_in_batches_on_postgresql(PostgresDatabase database) => _database = database;

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_record_a_poison_file_as_an_error_and_count_every_file_once_despite_copies() => WithWorkerAsync(async host =>
    {
        var sessionId = await CreateSessionAsync(host.Services);
        var files = Enumerable.Range(0, Files).Select(i => FileOf(sessionId, i)).ToList();
        var bus = host.Services.GetRequiredService<IBus>();

        // Every file three times at once: copies land in one batch or in batches running side by side. A copy
        // counted twice would end the session (total reached) with a file still missing from the results.
        await bus.PublishBatch(files.Concat(files).Concat(files.AsEnumerable().Reverse()));
        await WaitUntilAsync(host.Services, sessionId, session => session.Status == ScanSessionStatus.Reporting);

        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var session = await db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId);
        var results = await db.Set<ScanFileResult>().AsNoTracking().Where(r => r.SessionId == sessionId).OrderBy(r => r.FileIndex).ToListAsync();
        Assert.Equal((Files, 1, Files / 3), (session.ProcessedFiles, session.ErrorFiles, session.MatchedFiles));
        Assert.Equal(Files, results.Count);
        var poison = Assert.Single(results, r => r.Status == "Error");
        Assert.Equal(PoisonExtractor.PoisonName, poison.Name);
        Assert.Contains("the extractor broke on this file", poison.Error, StringComparison.Ordinal);
        Assert.All(results.Where(r => r.FileIndex % 3 == 0 && r.Name != PoisonExtractor.PoisonName), r => Assert.Equal("1 Code", r.Status));
    });

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_build_a_sessions_matchers_once_for_all_its_batches() => WithWorkerAsync(async host =>
    {
        var sessionId = await CreateSessionAsync(host.Services);
        var bus = host.Services.GetRequiredService<IBus>();

        // One batch at a time (batches hold at most 8 files), so the 12 files take at least two.
        await bus.PublishBatch(Enumerable.Range(0, 8).Select(i => FileOf(sessionId, i)));
        await WaitUntilAsync(host.Services, sessionId, session => session.ProcessedFiles == 8);
        await bus.PublishBatch(Enumerable.Range(8, Files - 8).Select(i => FileOf(sessionId, i)));
        await WaitUntilAsync(host.Services, sessionId, session => session.Status == ScanSessionStatus.Reporting);

        // The text matcher and its OCR twin, once: not once per batch.
        Assert.Equal(2, host.Services.GetRequiredService<SessionMatchers>().Built);
    });

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_count_the_files_of_a_chunk_delivered_twice_once() => WithWorkerAsync(async host =>
    {
        var sessionId = await CreateSessionAsync(host.Services);
        var chunk = new ScanFileChunk(sessionId, [.. Enumerable.Range(0, Files).Select(i => FileOf(sessionId, i))]);

        // The same chunk twice at once, as a broker redelivery would: both copies may be scanned side by side.
        await host.Services.GetRequiredService<IBus>().PublishBatch([chunk, chunk]);
        await WaitUntilAsync(host.Services, sessionId, session => session.Status == ScanSessionStatus.Reporting);

        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var session = await db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId);
        Assert.Equal((Files, 1, Files / 3), (session.ProcessedFiles, session.ErrorFiles, session.MatchedFiles));
        Assert.Equal(Files, await db.Set<ScanFileResult>().CountAsync(r => r.SessionId == sessionId));
    });

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_record_the_uncounted_files_of_a_chunk_that_failed_for_good_as_errors() => WithWorkerAsync(async host =>
    {
        var sessionId = await CreateSessionAsync(host.Services);
        var files = Enumerable.Range(0, Files).Select(i => FileOf(sessionId, i)).ToList();
        var bus = host.Services.GetRequiredService<IBus>();
        await bus.Publish(new ScanFileChunk(sessionId, files[..4]));
        await WaitUntilAsync(host.Services, sessionId, session => session.ProcessedFiles == 4);

        // What MassTransit publishes when a chunk's retries are spent (a database that stayed away).
        await bus.Publish<Fault<ScanFileChunk>>(new
        {
            Message = new ScanFileChunk(sessionId, files),
            Exceptions = new[] { new FaultExceptionInfo(new InvalidOperationException("the database went away")) },
        });
        await WaitUntilAsync(host.Services, sessionId, session => session.Status == ScanSessionStatus.Reporting);

        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var session = await db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId);
        var errors = await db.Set<ScanFileResult>().AsNoTracking().Where(r => r.SessionId == sessionId && r.Status == "Error").OrderBy(r => r.FileIndex).ToListAsync();
        Assert.Equal((Files, Files - 4), (session.ProcessedFiles, session.ErrorFiles));
        Assert.Equal(Enumerable.Range(4, Files - 4), errors.Select(r => r.FileIndex));
        Assert.All(errors, r => Assert.Equal("The file could not be scanned: the database went away", r.Error));
    });

    /// <summary>A started scan-files worker on its own blob folder for the spec's body, stopped and cleaned up after it.</summary>
    private async Task WithWorkerAsync(Func<IHost, Task> body)
    {
        var root = Path.Combine(Path.GetTempPath(), $"sagas-batch-{Guid.NewGuid():N}");
        using var host = BuildWorker(root);
        await host.StartAsync();
        try
        {
            await body(host);
        }
        finally
        {
            await host.StopAsync();
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

    /// <summary>Index 5 is the poison file; every third file holds EB-1.</summary>
    private static string NameOf(int index) => index == 5 ? PoisonExtractor.PoisonName : $"sheet-{index:D2}.txt";

    private static ScanFile FileOf(Guid sessionId, int index) => new(sessionId, index, NameOf(index), ScanFileKinds.Upload, new UploadLocator(0, index).ToString());

    private IHost BuildWorker(string root)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Messaging:Transport"] = "InMemory",
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = _database.ConnectionString,
            ["Worker:Roles"] = "scan-files",
            ["Storage:Provider"] = "Local",
            ["Storage:Local:Root"] = Path.Combine(root, "blobs"),
            ["Storage:Local:SigningKey"] = new string('k', 40),
            ["ScanSessions:ProgressInterval"] = "00:00:00",
            ["ScanSessions:FileBatchSize"] = "8",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddSagas("scan-batch-specs", SagasWorkflows.Catalog);
        builder.Services.AddSingleton<ITextExtractor>(services => new PoisonExtractor(ActivatorUtilities.CreateInstance<TextExtractor>(services)));
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        return builder.Build();
    }

    private static async Task<Guid> CreateSessionAsync(IServiceProvider services)
    {
        var blobs = services.GetRequiredService<IBlobStore>();
        var sessionId = Guid.NewGuid();
        var key = $"scan-uploads/{sessionId:N}/upload-00000";
        await blobs.PutAsync(key, new MemoryStream(Zip()), "application/zip");

        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        db.Add(new ScanSession
        {
            Id = sessionId,
            Status = ScanSessionStatus.Scanning,
            TotalFiles = Files,
            CodesJson = System.Text.Json.JsonSerializer.Serialize(new[] { "EB-1" }),
            UploadsJson = System.Text.Json.JsonSerializer.Serialize(new[] { key }),
            CreatedAt = DateTimeOffset.UtcNow,
        });
        await db.SaveChangesAsync();
        return sessionId;
    }

    private static byte[] Zip()
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < Files; i++)
            {
                using var writer = new StreamWriter(archive.CreateEntry(NameOf(i)).Open(), Encoding.UTF8);
                writer.Write(i % 3 == 0 ? $"Sheet {i} drills EB-1 at C4." : $"Sheet {i} drills EB-10 and EB-1B only.");
            }
        }

        return buffer.ToArray();
    }

    private static async Task WaitUntilAsync(IServiceProvider services, Guid sessionId, Func<ScanSession, bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (true)
        {
            await using (var scope = services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
                if (condition(await db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId, deadline.Token)))
                    return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
        }
    }
}
