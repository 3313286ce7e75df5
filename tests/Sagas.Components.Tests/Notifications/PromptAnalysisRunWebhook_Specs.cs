using System.Text.Json;
using MassTransit.Testing;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Contracts.Notifications;
using Sagas.Contracts.PromptAnalyses;
using Sagas.PromptAnalyses.Webhooks;

namespace Sagas.Components.Tests.Notifications;

public sealed class When_a_prompt_analysis_run_finishes_with_a_webhook_configured
{
    [Fact]
    public async Task Should_post_one_run_finished_event_only_to_endpoints_that_want_it()
    {
        await using var runsOnly = await WebhookTestBed.StubAsync(_ => 204);
        await using var analysesOnly = await WebhookTestBed.StubAsync(_ => 204);
        await using var bed = await WebhookTestBed.StartAsync(
            new WebhookTarget("runs", runsOnly, PromptAnalysisWebhooks.RunFinished),
            new WebhookTarget("analyses", analysesOnly, PromptAnalysisWebhooks.AnalysisFinished));
        var runId = Guid.NewGuid();
        var finishedAt = new DateTimeOffset(2026, 11, 23, 2, 17, 0, TimeSpan.Zero);

        await bed.Harness.Bus.Publish(new PromptAnalysisRunFinished(runId, "schedule", "all", 120, 117, 3, finishedAt));
        await WebhookTestBed.WaitUntilAsync(() => bed.Harness.Consumed.Now<DeliverWebhook>().Any());

        Assert.Empty(analysesOnly.Requests);
        var request = Assert.Single(runsOnly.Requests);
        using var body = JsonDocument.Parse(request.Body);
        var root = body.RootElement;
        Assert.Equal("prompt-analysis-run.finished", root.GetProperty("type").GetString());
        Assert.Equal(request.Headers["webhook-id"], root.GetProperty("id").GetString());
        Assert.Equal(finishedAt, root.GetProperty("timestamp").GetDateTimeOffset());
        var data = root.GetProperty("data");
        Assert.Equal(runId, data.GetProperty("runId").GetGuid());
        Assert.Equal("schedule", data.GetProperty("trigger").GetString());
        Assert.Equal("all", data.GetProperty("scope").GetString());
        Assert.Equal(120, data.GetProperty("totalAnalyses").GetInt32());
        Assert.Equal(117, data.GetProperty("completedAnalyses").GetInt32());
        Assert.Equal(3, data.GetProperty("failedAnalyses").GetInt32());
        Assert.Equal(finishedAt, data.GetProperty("finishedAt").GetDateTimeOffset());
    }
}
