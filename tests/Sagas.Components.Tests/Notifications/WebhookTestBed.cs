using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using MassTransit.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Core.Webhooks;
using Sagas.Notifications;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Components.Tests.Notifications;

/// <summary>The two notification consumers on the MassTransit test harness, posting to local stubs with short retry delays.</summary>
internal sealed class WebhookTestBed : IAsyncDisposable
{
    public static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    public static readonly string Secret = StandardWebhooks.SecretPrefix + Convert.ToBase64String(Key);

    private readonly ServiceProvider _provider;
    private readonly SqliteConnection _database;

    private WebhookTestBed(ServiceProvider provider, SqliteConnection database)
    {
        _provider = provider;
        _database = database;
    }

    public ITestHarness Harness => _provider.GetRequiredService<ITestHarness>();

    public static async Task<WebhookTestBed> StartAsync(params WebhookTarget[] targets)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Notifications:MaxRetries"] = "2",
            ["Notifications:RetryBaseDelay"] = "00:00:00.010",
            ["Notifications:MaxRetryDelay"] = "00:00:00.050",
            ["Notifications:AttemptTimeout"] = "00:00:05",
            ["Notifications:MessageRetries"] = "1",
            ["Notifications:MessageRetryInterval"] = "00:00:00.010",
        };
        for (var index = 0; index < targets.Length; index++)
        {
            settings[$"Notifications:Webhooks:{index}:Name"] = targets[index].Name;
            settings[$"Notifications:Webhooks:{index}:Url"] = new Uri(targets[index].Stub.BaseAddress, "hooks").ToString();
            settings[$"Notifications:Webhooks:{index}:Secret"] = Secret;
            for (var e = 0; e < targets[index].Events.Length; e++)
                settings[$"Notifications:Webhooks:{index}:Events:{e}"] = targets[index].Events[e];
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        // The delivery claims live in the database: a private in-memory SQLite one, open while the bed lives.
        var database = new SqliteConnection("Data Source=:memory:");
        database.Open();
        SagasDbContext NewContext()
        {
            var builder = new DbContextOptionsBuilder<SagasDbContext>();
            PersistenceRegistration.Configure(builder, DatabaseProvider.Sqlite, "Data Source=:memory:", SagasWorkflows.Model);
            builder.UseSqlite(database);
            return new SagasDbContext(builder.Options);
        }

        using (var db = NewContext())
            db.Database.EnsureCreated();
        var provider = new ServiceCollection()
            .AddLogging()
            .AddScoped(_ => NewContext())
            .AddSagasNotifications(configuration, SagasWorkflows.Catalog.Webhooks.Events)
            .AddMassTransitTestHarness(x => x.AddNotificationWorkers(configuration, SagasWorkflows.Catalog.Webhooks))
            .BuildServiceProvider(true);
        var bed = new WebhookTestBed(provider, database);
        await bed.Harness.Start();
        return bed;
    }

    /// <summary>Runs <paramref name="read"/> on a scope of its own, as one API request would.</summary>
    public async Task<T> InScopeAsync<T>(Func<IServiceProvider, Task<T>> read)
    {
        await using var scope = _provider.CreateAsyncScope();
        return await read(scope.ServiceProvider);
    }

    public static Task<HttpStub> StubAsync(Func<int, int> statusForCall)
    {
        var calls = 0;
        return HttpStub.StartAsync(app => app.MapPost("/hooks", () =>
            Microsoft.AspNetCore.Http.Results.StatusCode(statusForCall(Interlocked.Increment(ref calls)))));
    }

    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("The condition did not hold within 30 s.");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        await _provider.DisposeAsync();
        await _database.DisposeAsync();
    }
}

internal sealed record WebhookTarget(string Name, HttpStub Stub, params string[] Events);
