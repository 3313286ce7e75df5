using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Hosting;
using Sagas.Integration.Tests.LlmJobs;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Notifications;

/// <summary>
/// The embedded set-up (in-memory bus, SQLite, simulated provider, every role) with one webhook endpoint: a finished
/// LLM job reaches a local receiver as a signed <c>llm-job.finished</c> webhook. Needs no servers.
/// </summary>
public sealed class When_an_llm_job_finishes_in_the_embedded_host_with_a_webhook_configured : IAsyncDisposable
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    private readonly string _data = Path.Combine(Path.GetTempPath(), "sagas-webhook-specs-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Should_post_one_signed_webhook_with_the_jobs_final_counts()
    {
        await using var receiver = await HttpStub.StartAsync(app => app.MapPost("/hooks", () => Microsoft.AspNetCore.Http.Results.NoContent()));
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Messaging:Transport"] = "InMemory",
            ["Database:Provider"] = "Sqlite",
            ["Database:DataDirectory"] = _data,
            ["Worker:Roles"] = "all",
            ["LlmJobs:Polling:Interval"] = "00:00:01",
            ["LlmJobs:Polling:MinInterval"] = "00:00:01",
            ["LlmJobs:Polling:MaxInterval"] = "00:00:02",
            ["Scheduling:Schedules:llm-job-poll:Cron"] = "0/1 * * * * ?",
            ["LlmJobs:Providers:Simulated:MinLatency"] = "00:00:00.100",
            ["LlmJobs:Providers:Simulated:MaxLatency"] = "00:00:00.100",
            ["LlmJobs:Providers:Simulated:FailureRate"] = "0",
            ["Notifications:Webhooks:0:Name"] = "receiver",
            ["Notifications:Webhooks:0:Url"] = new Uri(receiver.BaseAddress, "hooks").ToString(),
            ["Notifications:Webhooks:0:Secret"] = "whsec_" + Convert.ToBase64String(Key),
            ["Notifications:Webhooks:0:Events:0"] = "llm-job.finished",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddSagas("webhook-specs", SagasWorkflows.Catalog);
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var jobId = NewId.NextGuid();
            await host.Services.GetRequiredService<IBus>().Publish(LlmJobHost.Job(jobId, 3));

            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (receiver.Requests.IsEmpty)
                await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);

            var request = Assert.Single(receiver.Requests);
            var id = request.Headers["webhook-id"];
            var timestamp = request.Headers["webhook-timestamp"];
            var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(Key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{request.Body}")));
            Assert.Equal(expected, request.Headers["webhook-signature"]);

            using var body = JsonDocument.Parse(request.Body);
            Assert.Equal("llm-job.finished", body.RootElement.GetProperty("type").GetString());
            var data = body.RootElement.GetProperty("data");
            Assert.Equal(jobId, data.GetProperty("jobId").GetGuid());
            Assert.Equal("completed", data.GetProperty("status").GetString());
            Assert.Equal(3, data.GetProperty("totalItems").GetInt32());
            Assert.Equal(3, data.GetProperty("succeededItems").GetInt32());
        }
        finally
        {
            await host.StopAsync();
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Directory.Exists(_data))
            Directory.Delete(_data, recursive: true);
        return ValueTask.CompletedTask;
    }
}
