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

/// <summary>
/// The recorder writes result rows with raw SQL (insert-or-ignore); what it writes must read back through the model
/// unchanged on both stores. On SQLite the model keeps a DateTimeOffset as a 64-bit number: a value written as text
/// read back as 0001-01-01T00:00:00-00:22.
/// </summary>
public abstract class ScanFileTimestampSpecs
{
    private static readonly DateTimeOffset Recorded = new(2026, 3, 4, 5, 6, 7, 891, TimeSpan.Zero);

    protected abstract SagasDbContext CreateContext();

    protected abstract Task PrepareAsync(SagasDbContext db);

    protected async Task ReadsBackTheProcessedTimeItWrote()
    {
        Guid sessionId;
        await using (var db = CreateContext())
        {
            await PrepareAsync(db);
            var session = new ScanSession { Id = Guid.NewGuid(), Status = ScanSessionStatus.Scanning, TotalFiles = 3, CreatedAt = Recorded.AddMinutes(-1) };
            db.Add(session);
            await db.SaveChangesAsync();
            sessionId = session.Id;
        }

        // A batch (the consumer's path) and a single file (the fault consumer's path), the second finishing the session.
        await using (var db = CreateContext())
        {
            var recorder = Recorder(db);
            await recorder.RecordBatchAsync(
                [
                    new ScannedFile(new ScanFile(sessionId, 0, "a.txt", ScanFileKinds.Upload, "upload:0"), new ScanFileOutcome("1 Code", ["EB-1"], null, null)),
                    new ScannedFile(new ScanFile(sessionId, 1, "b.txt", ScanFileKinds.Upload, "upload:1"), new ScanFileOutcome("No Code", [], null, null)),
                ],
                CancellationToken.None);
            await recorder.RecordAsync(new ScanFile(sessionId, 2, "c.txt", ScanFileKinds.Upload, "upload:2"), ScanFileOutcome.Failed("gone"), CancellationToken.None);
        }

        await using (var db = CreateContext())
        {
            var results = await db.Set<ScanFileResult>().AsNoTracking().Where(r => r.SessionId == sessionId).OrderBy(r => r.FileIndex).ToListAsync();
            Assert.Equal([Recorded, Recorded, Recorded], results.Select(r => r.ProcessedAt));
            Assert.All(results, r => Assert.Equal(TimeSpan.Zero, r.ProcessedAt.Offset));

            // Ordered and compared in SQL, as the API's paging and any retention sweep would.
            Assert.Equal(3, await db.Set<ScanFileResult>().CountAsync(r => r.SessionId == sessionId && r.ProcessedAt >= Recorded && r.ProcessedAt < Recorded.AddSeconds(1)));
            var session = await db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId);
            Assert.Equal((ScanSessionStatus.Reporting, Recorded), (session.Status, session.LastProgressAt));
        }
    }

    private static ScanFileRecorder Recorder(SagasDbContext db) => new(
        db,
        new OutboxWriter(db, new OutboxSignal(), new OutboxMessageTypes(SagasWorkflows.Catalog.Assemblies), TimeProvider.System),
        new ScanSessionsOptions { ProgressInterval = TimeSpan.Zero },
        new FixedClock(Recorded));

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

public sealed class When_file_results_are_recorded_on_postgresql_and_read_back : ScanFileTimestampSpecs, IClassFixture<PostgresDatabase>
{
    private readonly PostgresDatabase _database;

    public When_file_results_are_recorded_on_postgresql_and_read_back(PostgresDatabase database) => _database = database;

    [ServerFact(postgres: true, rabbitMq: false)]
    public Task Should_read_back_the_processed_time_it_wrote() => ReadsBackTheProcessedTimeItWrote();

    protected override SagasDbContext CreateContext() => _database.NewContext();

    protected override Task PrepareAsync(SagasDbContext db) => db.Database.MigrateAsync();
}

public sealed class When_file_results_are_recorded_on_sqlite_and_read_back : ScanFileTimestampSpecs, IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"sagas-scan-times-{Guid.NewGuid():N}.db");

    [Fact]
    public Task Should_read_back_the_processed_time_it_wrote() => ReadsBackTheProcessedTimeItWrote();

    protected override SagasDbContext CreateContext()
    {
        var options = PersistenceRegistration.Configure(new DbContextOptionsBuilder<SagasDbContext>(), DatabaseProvider.Sqlite, $"Data Source={_file};Pooling=False", SagasWorkflows.Model);
        return new SagasDbContext((DbContextOptions<SagasDbContext>)options.Options);
    }

    protected override Task PrepareAsync(SagasDbContext db) => db.Database.EnsureCreatedAsync();

    public void Dispose() => File.Delete(_file);
}
