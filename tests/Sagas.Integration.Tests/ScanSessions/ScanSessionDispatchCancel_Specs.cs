using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Contracts.ScanSessions;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.StateMachines;
using Sagas.Storage.Blobs;
using Sagas.Storage.Local;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.ScanSessions;

/// <summary>Holds every read of one blob until the spec lets it go: the dispatcher's listing, frozen mid-way.</summary>
public sealed class GatedBlobStore(IBlobStore inner, string gatedKey) : IBlobStore
{
    public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task<BlobContent> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        if (key == gatedKey)
        {
            Reached.TrySetResult();
            await Release.Task.WaitAsync(cancellationToken);
        }

        return await inner.OpenReadAsync(key, cancellationToken);
    }

    public Task PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken = default) =>
        inner.PutAsync(key, content, contentType, cancellationToken);

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => inner.ExistsAsync(key, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

    public IAsyncEnumerable<BlobItem> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task<Uri> GetDownloadLinkAsync(string key, string fileName, TimeSpan? expiresIn = null, CancellationToken cancellationToken = default) =>
        inner.GetDownloadLinkAsync(key, fileName, expiresIn, cancellationToken);
}

/// <summary>Counts consumed <see cref="DispatchScanSession"/> messages, retries included in the one consume.</summary>
public sealed class DispatchObserver : IConsumeObserver
{
    public TaskCompletionSource Consumed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task PreConsume<T>(ConsumeContext<T> context)
        where T : class => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context)
        where T : class
    {
        if (context.Message is DispatchScanSession)
            Consumed.TrySetResult();
        return Task.CompletedTask;
    }

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception)
        where T : class => Task.CompletedTask;
}

/// <summary>
/// The dispatcher reads the session row, lists the source (seconds for a large upload or an S3 prefix), then writes the
/// row. A cancel that commits in between must survive that write: otherwise the row goes back to scanning, its files are
/// counted and reported, while the saga, the socket and the webhook said cancelled.
/// </summary>
public sealed class When_a_scan_session_is_cancelled_while_its_source_is_listed : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqVirtualHost>
{
    private readonly PostgresDatabase _database;
    private readonly RabbitMqVirtualHost _broker;

    public When_a_scan_session_is_cancelled_while_its_source_is_listed(PostgresDatabase database, RabbitMqVirtualHost broker)
    {
        _database = database;
        _broker = broker;
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_stay_cancelled_and_dispatch_nothing()
    {
        var sessionId = NewId.NextGuid();
        var key = $"scan-uploads/{sessionId:N}/a.txt";
        var root = Path.Combine(Path.GetTempPath(), $"sagas-dispatch-cancel-{Guid.NewGuid():N}");
        var observer = new DispatchObserver();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Messaging:Transport"] = "RabbitMq",
            ["Messaging:RabbitMq:Uri"] = _broker.Address.ToString(),
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = _database.ConnectionString,
            ["Worker:Roles"] = "scan-sessions",
            ["Storage:Local:Root"] = root,
            ["Storage:Local:SigningKey"] = new string('k', 40),
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Services.AddSingleton(sp => new GatedBlobStore(sp.GetRequiredService<LocalBlobStore>(), key));
        builder.Services.AddSingleton<IBlobStore>(sp => sp.GetRequiredService<GatedBlobStore>());
        builder.AddSagas("dispatch-cancel-specs", SagasWorkflows.Catalog);
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var gate = host.Services.GetRequiredService<GatedBlobStore>();
            var bus = host.Services.GetRequiredService<IBus>();
            using var connection = bus.ConnectConsumeObserver(observer);
            await host.Services.GetRequiredService<LocalBlobStore>().PutAsync(key, new MemoryStream("EB-101"u8.ToArray()), "text/plain");
            await QueryAsync(host, async db =>
            {
                db.Add(new ScanSession { Id = sessionId, Status = ScanSessionStatus.Dispatching, CreatedAt = DateTimeOffset.UtcNow });
                return await db.SaveChangesAsync();
            });

            await bus.Publish(new StartScanSession(sessionId, new ScanSource(Uploads: [new ScanUpload(key, "a.txt")]), ["EB-101"], "specs"));
            await gate.Reached.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await bus.Publish(new CancelScanSession(sessionId));
            await WaitAsync(host, db => db.Set<ScanSession>().AnyAsync(s => s.Id == sessionId && s.Status == ScanSessionStatus.Cancelled));
            gate.Release.SetResult();
            await observer.Consumed.Task.WaitAsync(TimeSpan.FromSeconds(60));

            var session = await QueryAsync(host, db => db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId));
            Assert.Equal((ScanSessionStatus.Cancelled, (int?)null), (session.Status, session.TotalFiles));
            await WaitAsync(host, db => db.Set<ScanSessionState>().AnyAsync(s => s.CorrelationId == sessionId && s.CurrentState == "Cancelled"));
        }
        finally
        {
            await host.StopAsync();
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<T> QueryAsync<T>(IHost host, Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = host.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }

    private static async Task WaitAsync(IHost host, Func<SagasDbContext, Task<bool>> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!await QueryAsync(host, condition))
            await Task.Delay(TimeSpan.FromMilliseconds(50), deadline.Token);
    }
}
