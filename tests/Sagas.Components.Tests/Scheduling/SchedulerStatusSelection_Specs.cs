using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Hosting;
using Sagas.Hosting.Messaging;
using Sagas.Messaging.Scheduling;
using Sagas.Messaging.Scheduling.Status;
using Sagas.Modules;
using Sagas.Workflows;

namespace Sagas.Components.Tests.Scheduling;

public sealed class When_a_process_runs_without_the_scheduler_role
{
    [Fact]
    public async Task Should_report_the_scheduler_as_running_elsewhere_on_rabbitmq()
    {
        var status = StatusFor("RabbitMq");

        Assert.IsType<RemoteSchedulerStatus>(status);
        var report = await status.GetStatusAsync(CancellationToken.None);
        Assert.True(report.Ready);
        Assert.Contains("queue 'scheduler'", report.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_fall_back_to_the_transport_delay_on_the_in_memory_transport()
    {
        Assert.IsType<TransportDelaySchedulerStatus>(StatusFor("InMemory"));
    }

    private static ISchedulerStatus StatusFor(string transport)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Messaging:Transport"] = transport }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddSagasMessaging(configuration, WorkerRoles.Parse("llm-jobs", SagasHostingExtensions.KnownRoles(SagasWorkflows.Catalog)), runsScheduler: false);
        return services.BuildServiceProvider().GetRequiredService<ISchedulerStatus>();
    }
}
