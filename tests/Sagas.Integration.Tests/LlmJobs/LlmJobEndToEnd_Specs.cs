using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Contracts.LlmJobs;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;
using Sagas.Integration.Tests.Transports.AmazonSqs;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.StateMachines;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.LlmJobs;

/// <summary>
/// The whole LLM-job workflow as production runs it: a broker (RabbitMQ or Amazon SQS), PostgreSQL, the Quartz
/// scheduler endpoint firing the poll tick, the saga on the EF Core repository, the outbox; only the provider is the
/// simulated one.
/// </summary>
public sealed class LlmJobHost : IAsyncDisposable
{
    private readonly IHost _host;

    private LlmJobHost(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public static async Task<LlmJobHost> StartAsync(PostgresDatabase database, ITestTransport transport, TimeSpan latency, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(transport.HostSettings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = database.ConnectionString,
            ["Worker:Roles"] = "all",
            ["LlmJobs:Polling:Interval"] = "00:00:01",
            ["LlmJobs:Polling:MinInterval"] = "00:00:01",
            ["LlmJobs:Polling:MaxInterval"] = "00:00:02",
            ["Scheduling:Schedules:llm-job-poll:Cron"] = "0/1 * * * * ?",
            ["LlmJobs:Providers:Simulated:MinLatency"] = latency.ToString(),
            ["LlmJobs:Providers:Simulated:MaxLatency"] = latency.ToString(),
            ["LlmJobs:Providers:Simulated:FailureRate"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        if (settings is not null)
            builder.Configuration.AddInMemoryCollection(settings);
        builder.AddSagas("llm-job-specs", SagasWorkflows.Catalog);
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        var host = builder.Build();
        await host.StartAsync();
        return new LlmJobHost(host);
    }

    public async Task<T> QueryAsync<T>(Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }

    public async Task<LlmJob> WaitForJobAsync(Guid jobId, Func<LlmJob, bool> condition, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            var job = await QueryAsync(db => db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId));
            if (job is not null && condition(job))
                return job;
            await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
        }
    }

    public async Task<string?> WaitForSagaAsync(Guid jobId, string state, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            var current = await QueryAsync(db => db.Set<LlmJobState>().AsNoTracking().Where(s => s.CorrelationId == jobId).Select(s => s.CurrentState).SingleOrDefaultAsync());
            if (current == state)
                return current;
            await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
        }
    }

    public static SubmitLlmJob Job(Guid jobId, int items) => new(
        jobId, "flagging", null, null, LlmJobPriority.Normal, LlmJobMode.Background,
        [.. Enumerable.Range(1, items).Select(i => new LlmJobItemInput($"i{i}", "post", $"{jobId:N}-{i}", $"input {i}"))],
        DateTimeOffset.UtcNow.AddHours(1), "specs");

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

public sealed class When_an_llm_job_runs_on_rabbitmq_and_postgresql(TransportServers<RabbitMqTestTransport> servers)
    : LlmJobEndToEndSpecs<RabbitMqTestTransport>(servers);

public sealed class When_an_llm_job_runs_on_amazon_sqs_and_postgresql(TransportServers<AmazonSqsTestTransport> servers)
    : LlmJobEndToEndSpecs<AmazonSqsTestTransport>(servers);

/// <summary>The LLM-job end-to-end specs, one body for every transport (a class per transport above).</summary>
public abstract class LlmJobEndToEndSpecs<TTransport> : IClassFixture<TransportServers<TTransport>>
    where TTransport : class, ITestTransport, new()
{
    private readonly PostgresDatabase _database;
    private readonly TTransport _broker;

    protected LlmJobEndToEndSpecs(TransportServers<TTransport> servers)
    {
        _database = servers.Database;
        _broker = servers.Transport;
    }

    [TransportFact]
    public async Task Should_complete_every_item_once_even_when_the_submission_is_delivered_twice()
    {
        await using var host = await LlmJobHost.StartAsync(_database, _broker, TimeSpan.FromMilliseconds(300));
        var jobId = NewId.NextGuid();
        var submit = LlmJobHost.Job(jobId, 40);
        var bus = host.Services.GetRequiredService<IBus>();

        await bus.Publish(submit);
        await bus.Publish(submit);

        var job = await host.WaitForJobAsync(jobId, j => j.Status == LlmJobStatus.Completed, TimeSpan.FromSeconds(60));
        Assert.Equal(40, job.TotalItems);
        Assert.Equal(40, job.ProcessedItems);
        Assert.Equal(40, job.SucceededItems);
        Assert.Equal(0, job.FailedItems + job.CancelledItems);
        Assert.Equal("Completed", await host.WaitForSagaAsync(jobId, "Completed", TimeSpan.FromSeconds(30)));

        var itemCount = await host.QueryAsync(db => db.Set<LlmJobItem>().CountAsync(i => i.JobId == jobId && i.Status == LlmJobItemStatus.Succeeded));
        var flags = await host.QueryAsync(db => db.Set<EntityFlag>().CountAsync(f => f.JobId == jobId));
        Assert.Equal(40, itemCount);
        Assert.Equal(40, flags);
    }

    [TransportFact]
    public async Task Should_cancel_unfinished_items_and_end_cancelled()
    {
        await using var host = await LlmJobHost.StartAsync(_database, _broker, TimeSpan.FromMinutes(10));
        var jobId = NewId.NextGuid();
        var bus = host.Services.GetRequiredService<IBus>();
        await bus.Publish(LlmJobHost.Job(jobId, 5));
        await host.WaitForJobAsync(jobId, j => j.Status == LlmJobStatus.Running, TimeSpan.FromSeconds(30));

        await bus.Publish(new CancelLlmJob(jobId, "spec"));

        var job = await host.WaitForJobAsync(jobId, j => j.Status == LlmJobStatus.Cancelled, TimeSpan.FromSeconds(30));
        Assert.Equal(5, job.CancelledItems);
        Assert.Equal(5, job.ProcessedItems);
        Assert.Equal("Cancelled", await host.WaitForSagaAsync(jobId, "Cancelled", TimeSpan.FromSeconds(30)));
        var items = await host.QueryAsync(db => db.Set<LlmJobItem>().Where(i => i.JobId == jobId).Select(i => i.Status).ToListAsync());
        Assert.All(items, status => Assert.Equal(LlmJobItemStatus.Cancelled, status));
    }
}
