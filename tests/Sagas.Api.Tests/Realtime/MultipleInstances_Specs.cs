using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Api.Tests.ScanSessions;
using Sagas.Contracts.LlmJobs;
using Sagas.Contracts.ScanSessions;

namespace Sagas.Api.Tests.Realtime;

/// <summary>Runs when tests/run-tests.sh (or CI) provides a broker in SAGAS_TEST_RABBITMQ; never skipped with CI=true.</summary>
public sealed class RabbitMqFactAttribute : FactAttribute
{
    public const string Variable = "SAGAS_TEST_RABBITMQ";

    public RabbitMqFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("CI") != "true" && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)))
            Skip = $"needs {Variable} (tests/run-tests.sh provides it)";
    }
}

/// <summary>An API instance on the shared broker running no worker role: it only serves HTTP and sockets.</summary>
public sealed class RabbitMqApiInstance : ScanSessionsApi
{
    protected override void ConfigureMore(IWebHostBuilder builder)
    {
        builder.UseSetting("Messaging:Transport", "RabbitMq");
        builder.UseSetting("Messaging:RabbitMq:Uri", Environment.GetEnvironmentVariable(RabbitMqFactAttribute.Variable));
        builder.UseSetting("Worker:Roles", "none");
    }
}

public sealed class When_events_are_published_while_the_socket_is_held_by_another_api_instance
{
    [RabbitMqFact]
    public async Task Should_reach_the_socket_through_that_instance_s_temporary_queue()
    {
        await using var publishing = new RabbitMqApiInstance();
        await using var holding = new RabbitMqApiInstance();
        var sessionId = NewId.NextGuid();
        var jobId = NewId.NextGuid();
        await using var client = await ProtocolClient.ConnectAsync(holding.Server);
        _ = publishing.Server;

        // Neither instance has these rows: the subscriptions stay and only bus events can reach the socket.
        await client.SendAsync(new { action = "subscribe", session_id = sessionId });
        Assert.Equal("ERROR", (await client.ReceiveAsync())?.GetProperty("type").GetString());
        await client.SendAsync(new { action = "subscribe", llm_job_id = jobId });
        Assert.Equal("ERROR", (await client.ReceiveAsync())?.GetProperty("type").GetString());

        var bus = publishing.Services.GetRequiredService<IBus>();
        await bus.Publish(new ScanMatchFound(sessionId, "EB-1", "a.pdf", "1 Code", null));
        await bus.Publish(new ScanProgressed(sessionId, 2, 2, 100));
        var scan = await client.ReceiveUntilAsync("PROGRESS");
        await bus.Publish(new ScanSessionCompleted(sessionId, "scan-reports/x.xlsx", 1, 2));
        var complete = await client.ReceiveUntilAsync("COMPLETE");
        await bus.Publish(new LlmJobFinished(jobId, "completed", 3, 3, 0, 0, DateTimeOffset.UtcNow));
        var job = await client.ReceiveUntilAsync("LLM_JOB_COMPLETE");

        Assert.Contains(scan, m => m.GetProperty("type").GetString() == "MATCH_FOUND" && m.GetProperty("data").GetProperty("hole_code").GetString() == "EB-1");
        Assert.Equal(2, scan[^1].GetProperty("processed").GetInt32());
        Assert.Equal(2, complete[^1].GetProperty("total_processed").GetInt32());
        Assert.Equal(3, job[^1].GetProperty("succeeded").GetInt32());
    }
}

public sealed class When_an_event_is_published_again_with_the_same_message_id
{
    /// <summary>
    /// The outbox publishes a row again, with its message id, after a crash between publish and delete: each API
    /// instance forwards an event id once, on its own queue, so no socket on any instance sees it twice.
    /// </summary>
    [RabbitMqFact]
    public async Task Should_reach_every_socket_on_every_instance_once()
    {
        await using var first = new RabbitMqApiInstance();
        await using var second = new RabbitMqApiInstance();
        var sessionId = NewId.NextGuid();
        await using var one = await ProtocolClient.ConnectAsync(first.Server);
        await using var other = await ProtocolClient.ConnectAsync(second.Server);
        foreach (var client in new[] { one, other })
        {
            await client.SendAsync(new { action = "subscribe", session_id = sessionId });
            Assert.Equal("ERROR", (await client.ReceiveAsync())?.GetProperty("type").GetString());
        }

        var bus = first.Services.GetRequiredService<IBus>();
        var repeated = NewId.NextGuid();
        for (var copy = 0; copy < 3; copy++)
            await bus.Publish(new ScanMatchFound(sessionId, "EB-1", "a.pdf", "1 Code", null), context => context.MessageId = repeated);
        // The same content under another id is another event (another file of the same name, say): it is delivered.
        await bus.Publish(new ScanMatchFound(sessionId, "EB-1", "a.pdf", "1 Code", null));
        // The fence: one queue per instance and one message at a time, so everything before it has been forwarded.
        await bus.Publish(new ScanProgressed(sessionId, 2, 2, 100));

        foreach (var client in new[] { one, other })
        {
            var received = await client.ReceiveUntilAsync("PROGRESS");
            Assert.Equal(2, received.Count(m => m.GetProperty("type").GetString() == "MATCH_FOUND"));
        }
    }
}
