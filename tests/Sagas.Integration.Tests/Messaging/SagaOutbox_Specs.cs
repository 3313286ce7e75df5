using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Hosting;
using Sagas.Integration.Tests.Scheduling;
using Sagas.Integration.Tests.Transports;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Runs;
using Sagas.PromptAnalyses.StateMachines;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Messaging;

/// <summary>
/// A saga's event whose publish fails after the saga's row committed (the broker connection dropped at that moment,
/// as a fault-suite run saw once): it must still go out, because it waits in the outbox that committed with the row.
/// </summary>
public sealed class When_a_saga_event_cannot_be_published_right_after_the_saga_commits(TransportServers<RabbitMqTestTransport> servers)
    : IClassFixture<TransportServers<RabbitMqTestTransport>>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [TransportFact]
    public async Task Should_publish_it_once_the_broker_takes_it_again()
    {
        using var host = Build();
        await host.StartAsync();
        var refuse = new RefuseFirstPublish<PromptAnalysisFinished>();
        using var observed = host.Services.GetRequiredService<IBus>().ConnectPublishObserver(refuse);
        try
        {
            var projectId = await SeedAsync(host.Services);
            StartedRun run;
            await using (var scope = host.Services.CreateAsyncScope())
            {
                run = await scope.ServiceProvider.GetRequiredService<PromptAnalysisRunStarter>()
                    .StartOnDemandAsync(new RunRequest(AnalysisRunScope.Project, projectId, null, false, "specs"), CancellationToken.None);
            }

            AnalysisRun? finished = null;
            await Wait.UntilAsync(
                async () => (finished = await QueryAsync(host.Services, db => db.Set<AnalysisRun>().AsNoTracking().SingleAsync(r => r.Id == run.RunId))).FinishedAt is not null,
                Deadline,
                "the run did not record its finish: its analysis's PromptAnalysisFinished was lost");

            Assert.Equal(1, refuse.Refused);
            Assert.Equal((1, 1, 0), (finished!.TotalAnalyses, finished.CompletedAnalyses, finished.FailedAnalyses));
            var saga = await QueryAsync(host.Services, db => db.Set<PromptAnalysisState>().AsNoTracking().SingleAsync(s => s.RunId == run.RunId));
            Assert.Equal("Completed", saga.CurrentState);
            // The run's own finish wrote an event of its own (PromptAnalysisRunFinished) that may still be on its way out.
            await Wait.UntilAsync(
                async () => await QueryAsync(host.Services, db => db.Set<OutboxMessage>().CountAsync()) == 0,
                TimeSpan.FromSeconds(30),
                "rows stayed in the outbox");
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private IHost Build()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(servers.Transport.HostSettings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = servers.Database.ConnectionString,
            ["Worker:Roles"] = "prompt-analyses",
            ["PromptAnalyses:Platforms:Simulated:MinLatencyMs"] = "10",
            ["PromptAnalyses:Platforms:Simulated:MaxLatencyMs"] = "20",
            ["PromptAnalyses:Platforms:Simulated:FailureRate"] = "0",
            ["PromptAnalyses:Platforms:Simulated:RateLimitRate"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddSagas("saga-outbox-specs", SagasWorkflows.Catalog);
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        return builder.Build();
    }

    private static async Task<Guid> SeedAsync(IServiceProvider services)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        var now = DateTimeOffset.UtcNow;
        var project = new AnalysisProject { Id = Guid.NewGuid(), Name = "Acme", BrandNames = ["Acme"], Domains = ["example.com"], CreatedAt = now, UpdatedAt = now };
        db.Add(project);
        db.Add(new TrackedPrompt
        {
            Id = Guid.NewGuid(), ProjectId = project.Id, Text = "Which anvil brand is best?", Active = true,
            Platforms = ["openai"], CreatedAt = now, UpdatedAt = now,
        });
        await db.SaveChangesAsync();
        return project.Id;
    }

    private static async Task<T> QueryAsync<T>(IServiceProvider services, Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }

    /// <summary>The broker "refuses" the first publish of <typeparamref name="TMessage"/>, wherever it comes from.</summary>
    private sealed class RefuseFirstPublish<TMessage> : IPublishObserver
        where TMessage : class
    {
        private int _refused;

        public int Refused => Volatile.Read(ref _refused);

        public Task PrePublish<T>(PublishContext<T> context)
            where T : class =>
            context.Message is TMessage && Interlocked.CompareExchange(ref _refused, 1, 0) == 0
                ? throw new InvalidOperationException($"Spec: the broker connection dropped while publishing {typeof(TMessage).Name}.")
                : Task.CompletedTask;

        public Task PostPublish<T>(PublishContext<T> context)
            where T : class => Task.CompletedTask;

        public Task PublishFault<T>(PublishContext<T> context, Exception exception)
            where T : class => Task.CompletedTask;
    }
}
