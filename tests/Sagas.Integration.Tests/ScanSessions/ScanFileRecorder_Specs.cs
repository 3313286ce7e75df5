using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.ScanSessions;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.ScanSessions;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.Sources;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.ScanSessions;

public sealed class When_file_results_are_recorded_on_postgresql : IClassFixture<PostgresDatabase>
{
    private readonly PostgresDatabase _database;

    public When_file_results_are_recorded_on_postgresql(PostgresDatabase database) => _database = database;

    [ServerFact(postgres: true, rabbitMq: false)]
    public async Task Should_count_each_file_once_under_concurrent_duplicates_and_complete_exactly_once()
    {
        const int total = 150;
        var sessionId = await CreateSessionAsync(total, ScanSessionStatus.Scanning);

        // Every file twice, all at once: the session row lock serialises the counting, the result key drops the copies.
        var files = Enumerable.Range(0, total).SelectMany(index => new[] { index, index }).ToList();
        var counted = 0;
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (index, token) =>
        {
            var codes = index % 5 == 0 ? new[] { "EB-1", "EB-2" } : [];
            if (await RecordAsync(new ScanFile(sessionId, index, $"f{index}.txt", ScanFileKinds.Upload, $"upload:{index}"),
                    new ScanFileOutcome(codes.Length == 0 ? "No Code" : "2 Codes", codes, null, null), token))
                Interlocked.Increment(ref counted);
        });

        await using var db = CreateContext();
        var session = await db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId);
        Assert.Equal(total, counted);
        Assert.Equal(total, session.ProcessedFiles);
        Assert.Equal(total / 5, session.MatchedFiles);
        Assert.Equal(total / 5 * 2, session.TotalMatches);
        Assert.Equal(ScanSessionStatus.Reporting, session.Status);
        Assert.Equal(total, await db.Set<ScanFileResult>().CountAsync(r => r.SessionId == sessionId));

        var events = await EventsAsync(db, sessionId);
        Assert.Single(events, e => e.MessageType == typeof(ScanFilesCompleted).FullName);
        Assert.Equal(total / 5 * 2, events.Count(e => e.MessageType == typeof(ScanMatchFound).FullName));
        var percents = events.Where(e => e.MessageType == typeof(ScanProgressed).FullName)
            .Select(e => System.Text.Json.JsonSerializer.Deserialize<ScanProgressed>(e.Body, OutboxMessageTypes.JsonOptions)!.Percent)
            .ToList();
        Assert.Equal(percents.Distinct().Count(), percents.Count);
        Assert.Contains(100, percents);
    }

    [ServerFact(postgres: true, rabbitMq: false)]
    public async Task Should_count_copies_inside_a_batch_and_across_concurrent_batches_once()
    {
        const int total = 60;
        var sessionId = await CreateSessionAsync(total, ScanSessionStatus.Scanning);
        ScannedFile Scanned(int index) => new(
            new ScanFile(sessionId, index, $"f{index}.txt", ScanFileKinds.Upload, $"upload:0/entry:{index}"),
            index % 4 == 0 ? new ScanFileOutcome("1 Code", ["EB-1"], null, null) : new ScanFileOutcome("No Code", [], null, null));

        // Overlapping batches in different orders, each holding copies of its own files, all recorded at once.
        var batches = Enumerable.Range(0, 8)
            .Select(b => Enumerable.Range(0, 20).Select(i => (b * 7 + i * (b % 2 == 0 ? 1 : -1) + total) % total).SelectMany(i => new[] { i, i }).Select(Scanned).ToList())
            .Append([.. Enumerable.Range(0, total).Select(Scanned)])
            .ToList();
        var counted = 0;
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 9 }, async (batch, token) =>
            Interlocked.Add(ref counted, await RecordBatchAsync(batch, token)));

        await using var db = CreateContext();
        var session = await db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId);
        Assert.Equal(total, counted);
        Assert.Equal((total, total / 4, total / 4, ScanSessionStatus.Reporting), (session.ProcessedFiles, session.MatchedFiles, session.TotalMatches, session.Status));
        Assert.Equal(total, await db.Set<ScanFileResult>().CountAsync(r => r.SessionId == sessionId));
        var events = await EventsAsync(db, sessionId);
        Assert.Single(events, e => e.MessageType == typeof(ScanFilesCompleted).FullName);
        Assert.Equal(total / 4, events.Count(e => e.MessageType == typeof(ScanMatchFound).FullName));
    }

    [ServerFact(postgres: true, rabbitMq: false)]
    public async Task Should_roll_back_a_batch_for_a_cancelled_session()
    {
        var sessionId = await CreateSessionAsync(3, ScanSessionStatus.Cancelled);

        var counted = await RecordBatchAsync(
            [.. Enumerable.Range(0, 3).Select(i => new ScannedFile(new ScanFile(sessionId, i, $"f{i}.txt", ScanFileKinds.Upload, "upload:0"), ScanFileOutcome.Failed("x")))],
            CancellationToken.None);

        await using var db = CreateContext();
        Assert.Equal(0, counted);
        Assert.Equal(0, await db.Set<ScanFileResult>().CountAsync(r => r.SessionId == sessionId));
        Assert.Empty(await EventsAsync(db, sessionId));
    }

    [ServerFact(postgres: true, rabbitMq: false)]
    public async Task Should_count_nothing_for_a_cancelled_session()
    {
        var sessionId = await CreateSessionAsync(2, ScanSessionStatus.Cancelled);

        var counted = await RecordAsync(new ScanFile(sessionId, 0, "a.txt", ScanFileKinds.Upload, "upload:0"), ScanFileOutcome.Failed("x"), CancellationToken.None);

        await using var db = CreateContext();
        Assert.False(counted);
        Assert.Equal(0, (await db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId)).ProcessedFiles);
        Assert.Empty(await EventsAsync(db, sessionId));
    }

    [ServerFact(postgres: true, rabbitMq: false)]
    public async Task Should_count_an_error_result_as_processed()
    {
        var sessionId = await CreateSessionAsync(1, ScanSessionStatus.Scanning);

        await RecordAsync(new ScanFile(sessionId, 0, "a.pdf", ScanFileKinds.Url, "https://example.com/a.pdf"), ScanFileOutcome.Failed("404", "https://example.com/a.pdf"), CancellationToken.None);

        await using var db = CreateContext();
        var session = await db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId);
        Assert.Equal((1, 1, ScanSessionStatus.Reporting), (session.ProcessedFiles, session.ErrorFiles, session.Status));
        var result = await db.Set<ScanFileResult>().AsNoTracking().SingleAsync(r => r.SessionId == sessionId);
        Assert.Equal(("Error", "404", "https://example.com/a.pdf"), (result.Status, result.Error, result.Link));
    }

    private SagasDbContext CreateContext()
    {
        return _database.NewContext();
    }

    private async Task<Guid> CreateSessionAsync(int total, string status)
    {
        await using var db = CreateContext();
        await db.Database.MigrateAsync();
        var session = new ScanSession { Id = Guid.NewGuid(), Status = status, TotalFiles = total, CreatedAt = DateTimeOffset.UtcNow };
        db.Add(session);
        await db.SaveChangesAsync();
        return session.Id;
    }

    private async Task<bool> RecordAsync(ScanFile file, ScanFileOutcome outcome, CancellationToken cancellationToken)
    {
        await using var db = CreateContext();
        using var signal = new OutboxSignal();
        var recorder = new ScanFileRecorder(db, new OutboxWriter(db, signal, new OutboxMessageTypes(SagasWorkflows.Catalog.Assemblies), TimeProvider.System), new ScanSessionsOptions { ProgressInterval = TimeSpan.Zero }, TimeProvider.System);
        return await recorder.RecordAsync(file, outcome, cancellationToken);
    }

    private async Task<int> RecordBatchAsync(IReadOnlyList<ScannedFile> files, CancellationToken cancellationToken)
    {
        await using var db = CreateContext();
        using var signal = new OutboxSignal();
        var recorder = new ScanFileRecorder(db, new OutboxWriter(db, signal, new OutboxMessageTypes(SagasWorkflows.Catalog.Assemblies), TimeProvider.System), new ScanSessionsOptions { ProgressInterval = TimeSpan.Zero }, TimeProvider.System);
        return await recorder.RecordBatchAsync(files, cancellationToken);
    }

    private static Task<List<OutboxMessage>> EventsAsync(SagasDbContext db, Guid sessionId)
    {
        var id = sessionId.ToString();
        return db.Set<OutboxMessage>().AsNoTracking().Where(m => m.Body.Contains(id)).ToListAsync();
    }
}
