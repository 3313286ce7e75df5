using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Quartz;
using Sagas.Hosting;
using Sagas.Integration.Tests.Transports;
using Sagas.Messaging.Scheduling;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Scheduling;

/// <summary>A message the tests schedule; <see cref="Label"/> tells versions of one schedule apart.</summary>
public sealed record SchedulingProbe(Guid Id, string Label);

public sealed record ProbeDelivery(Guid Id, string Label, DateTimeOffset ReceivedAt, Guid? MessageId, Guid? ConversationId, Guid? CorrelationId, string? TokenHeader, string? QuartzScheduledHeader, string? CustomHeader);

/// <summary>Everything the probe consumers of one test class received, with a condition wait instead of sleeps.</summary>
public sealed class ProbeDeliveries
{
    private readonly ConcurrentQueue<ProbeDelivery> _received = new();

    public IReadOnlyList<ProbeDelivery> All => [.. _received];

    public IReadOnlyList<ProbeDelivery> Of(Guid id) => All.Where(delivery => delivery.Id == id).ToList();

    public void Add(ProbeDelivery delivery) => _received.Enqueue(delivery);

    public Task<ProbeDelivery> WaitForAsync(Guid id, TimeSpan timeout) =>
        Wait.UntilAsync(() => Of(id) is [var first, ..] ? first : null, timeout, $"probe {id} was not delivered");

    public Task WaitForCountAsync(Guid id, int count, TimeSpan timeout) =>
        Wait.UntilAsync(() => Of(id).Count >= count ? true : (bool?)null, timeout, $"probe {id} was not delivered {count} times");
}

public sealed class ProbeConsumer(ProbeDeliveries deliveries, TimeProvider clock) : IConsumer<SchedulingProbe>
{
    public const string QueueName = "scheduling-probe";

    public static readonly Uri Address = new($"queue:{QueueName}");

    public Task Consume(ConsumeContext<SchedulingProbe> context)
    {
        deliveries.Add(new ProbeDelivery(
            context.Message.Id,
            context.Message.Label,
            clock.GetUtcNow(),
            context.MessageId,
            context.ConversationId,
            context.CorrelationId,
            context.Headers.Get<string>(MessageHeaders.SchedulingTokenId),
            context.Headers.Get<string>(MessageHeaders.Quartz.Scheduled),
            context.Headers.Get<string>("X-Probe")));
        return Task.CompletedTask;
    }
}

public static class Wait
{
    public static async Task<T> UntilAsync<T>(Func<T?> probe, TimeSpan timeout, string failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (probe() is { } value)
                return value;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{failure} within {timeout.TotalSeconds:0.#} s");
            await Task.Delay(25);
        }
    }

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{failure} within {timeout.TotalSeconds:0.#} s");
            await Task.Delay(25);
        }
    }
}

/// <summary>
/// One Sagas process as production composes it (<c>AddSagas</c>) on the test transport and database: with the
/// scheduler role it runs the Quartz endpoint; with role <c>none</c> it is a bus client that schedules and receives probes.
/// </summary>
public sealed class SchedulingNode : IAsyncDisposable
{
    private readonly IHost _host;

    private SchedulingNode(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public static async Task<SchedulingNode> StartAsync(
        string roles,
        ITestTransport transport,
        string postgresConnectionString,
        ProbeDeliveries? deliveries = null,
        Action<IServiceCollection>? services = null,
        Action<IBusRegistrationConfigurator>? bus = null,
        IDictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Development", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(transport.HostSettings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = postgresConnectionString,
            // The EF model is not what these tests are about; only the Quartz tables are created.
            ["Database:MigrateAtStartup"] = "false",
            ["Worker:Roles"] = roles,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Sagas"] = "Information",
        });
        if (settings is not null)
            builder.Configuration.AddInMemoryCollection(settings);

        // Start returns once the bus (and with it the Quartz scheduler) runs, so a test never races the start-up.
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        if (deliveries is not null)
            builder.Services.AddSingleton(deliveries);
        services?.Invoke(builder.Services);
        builder.AddSagas("scheduling-tests", SagasWorkflows.Catalog, x =>
        {
            if (deliveries is not null)
                x.AddConsumer<ProbeConsumer>().Endpoint(endpoint => endpoint.Name = ProbeConsumer.QueueName);
            bus?.Invoke(x);
        });

        var host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StartAsync(timeout.Token);
        return new SchedulingNode(host);
    }

    public async Task<T> InScopeAsync<T>(Func<IServiceProvider, Task<T>> action)
    {
        await using var scope = Services.CreateAsyncScope();
        return await action(scope.ServiceProvider);
    }

    public Task InScopeAsync(Func<IServiceProvider, Task> action) => InScopeAsync(async provider =>
    {
        await action(provider);
        return true;
    });

    /// <summary>The Quartz scheduler of a node with the scheduler role.</summary>
    public Task<IScheduler> QuartzAsync() => Services.GetRequiredService<SchedulerLifecycle>().GetSchedulerAsync(CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
    }
}
