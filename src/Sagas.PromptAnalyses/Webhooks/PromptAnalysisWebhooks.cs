using MassTransit;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Modules.Webhooks;

namespace Sagas.PromptAnalyses.Webhooks;

/// <summary>The public webhook events of prompt analyses (docs/notifications.md): part of the webhook contract, never renamed.</summary>
public static class PromptAnalysisWebhooks
{
    public const string AnalysisFinished = "prompt-analysis.finished";

    public const string RunFinished = "prompt-analysis-run.finished";
}

/// <summary>The <c>data</c> of <c>prompt-analysis.finished</c>: one prompt's analysis across its platforms.</summary>
public sealed record PromptAnalysisFinishedData(Guid AnalysisId, Guid RunId, Guid PromptId, string Status, int TotalPlatforms, int SucceededPlatforms, int FailedPlatforms);

/// <summary>The <c>data</c> of <c>prompt-analysis-run.finished</c>: sent once, when every analysis of the run is final.</summary>
public sealed record PromptAnalysisRunFinishedData(Guid RunId, string Trigger, string Scope, int TotalAnalyses, int CompletedAnalyses, int FailedAnalyses, DateTimeOffset FinishedAt, int CancelledAnalyses = 0);

/// <summary>Raises <c>prompt-analysis.finished</c> and <c>prompt-analysis-run.finished</c>.</summary>
public sealed class PromptAnalysisWebhookEvents(IWebhookPublisher webhooks) :
    IConsumer<PromptAnalysisFinished>,
    IConsumer<PromptAnalysisRunFinished>
{
    public Task Consume(ConsumeContext<PromptAnalysisFinished> context)
    {
        var analysis = context.Message;
        return webhooks.PublishAsync(context, PromptAnalysisWebhooks.AnalysisFinished, analysis.AnalysisId, webhooks.SentAt(context),
            new PromptAnalysisFinishedData(analysis.AnalysisId, analysis.RunId, analysis.PromptId, analysis.Status,
                analysis.TotalPlatforms, analysis.SucceededPlatforms, analysis.FailedPlatforms));
    }

    public Task Consume(ConsumeContext<PromptAnalysisRunFinished> context)
    {
        var run = context.Message;
        return webhooks.PublishAsync(context, PromptAnalysisWebhooks.RunFinished, run.RunId, run.FinishedAt,
            new PromptAnalysisRunFinishedData(run.RunId, run.Trigger, run.Scope, run.TotalAnalyses, run.CompletedAnalyses, run.FailedAnalyses, run.FinishedAt, run.CancelledAnalyses));
    }
}
