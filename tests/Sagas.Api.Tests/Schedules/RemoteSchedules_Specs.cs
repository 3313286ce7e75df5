using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Workflows;

namespace Sagas.Api.Tests.Schedules;

/// <summary>
/// The deployed shape: the API holds no scheduler role and asks a separate scheduler process over RabbitMQ; the
/// Quartz store is the clustered PostgreSQL one.
/// </summary>
public sealed class When_the_api_asks_a_remote_scheduler : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqVirtualHost>
{
    private readonly PostgresDatabase _database;
    private readonly RabbitMqVirtualHost _broker;

    public When_the_api_asks_a_remote_scheduler(PostgresDatabase database, RabbitMqVirtualHost broker)
    {
        _database = database;
        _broker = broker;
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_answer_503_until_a_scheduler_runs_and_then_list_pause_and_resume_through_it()
    {
        await using var api = new RemoteApi(Settings("llm-jobs"));
        var client = api.CreateClient();

        using (var unreachable = await client.GetAsync(new Uri("/api/schedules", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, unreachable.StatusCode);
            Assert.Equal("application/problem+json", unreachable.Content.Headers.ContentType?.MediaType);
        }

        using var scheduler = await StartSchedulerAsync();

        var schedules = await client.GetFromJsonAsync<JsonElement>("/api/schedules");
        var poll = schedules.EnumerateArray().Single(s => s.GetProperty("name").GetString() == "llm-job-poll");
        Assert.False(poll.GetProperty("paused").GetBoolean());

        using var paused = await client.PostAsync(new Uri("/api/schedules/llm-job-poll/pause", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        Assert.True((await paused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("paused").GetBoolean());

        var listed = await client.GetFromJsonAsync<JsonElement>("/api/schedules");
        Assert.True(listed.EnumerateArray().Single(s => s.GetProperty("name").GetString() == "llm-job-poll").GetProperty("paused").GetBoolean());

        using var resumed = await client.PostAsync(new Uri("/api/schedules/llm-job-poll/resume", UriKind.Relative), null);
        Assert.False((await resumed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("paused").GetBoolean());

        using var unknown = await client.PostAsync(new Uri("/api/schedules/nothing-like-this/pause", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
    }

    private Dictionary<string, string?> Settings(string roles) => new()
    {
        ["Messaging:Transport"] = "RabbitMq",
        ["Messaging:RabbitMq:Uri"] = _broker.Address.ToString(),
        ["Database:Provider"] = "PostgreSql",
        ["Database:ConnectionString"] = _database.ConnectionString,
        ["Worker:Roles"] = roles,
        ["Api:SchedulerRequestTimeout"] = "00:00:05",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    private async Task<IHost> StartSchedulerAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(Settings("scheduler"));
        builder.AddSagas("schedule-specs-scheduler", SagasWorkflows.Catalog);
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private sealed class RemoteApi(Dictionary<string, string?> settings) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            foreach (var (key, value) in settings)
                builder.UseSetting(key, value);
        }
    }
}
