using Microsoft.AspNetCore.Routing;
using Sagas.Modules;
using Sagas.Modules.Runs;
using Sagas.PromptAnalyses.Runs;
using Sagas.Modules.Assistant;
using Sagas.Modules.Dashboard;
using Sagas.Modules.Webhooks;
using Sagas.PromptAnalyses.Api;
using Sagas.PromptAnalyses.Assistant;
using Sagas.PromptAnalyses.Webhooks;

namespace Sagas.PromptAnalyses;

/// <summary>Prompt analyses: every tracked prompt run against OpenAI, Claude, Gemini and Perplexity, daily and on demand.</summary>
public sealed class PromptAnalysesModule : IWorkflowModule
{
    public static readonly WorkerRole Role = new("prompt-analyses", "Prompt analysis runs, analysis saga and platform calls.");

    /// <summary>The workflow's name in usage rows and budgets.</summary>
    public const string WorkflowName = "prompt-analyses";

    public string Name => WorkflowName;

    public IReadOnlyList<WorkerRole> Roles { get; } = [Role];

    public DashboardPage? Page { get; } = new("analyses", "Analyses");

    public WorkflowRuns? Runs { get; } = new PromptAnalysisRuns();

    public void AddServices(WorkflowServices workflow) => workflow.Services.AddPromptAnalyses(workflow.Configuration);

    public void AddConsumers(WorkflowConsumers workflow)
    {
        if (workflow.Roles.Runs(Role))
            workflow.Bus.AddPromptAnalysisWorkers(workflow.SagaConcurrency);
    }

    public void AddApi(WorkflowApi workflow) =>
        workflow.Services
            .AddAssistantTool<CountPromptAnalysesTool>()
            .AddAssistantTool<PromptAnalysisCostTool>()
            .AddAssistantTool<BrandVisibilityTool>();

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapProjectEndpoints();
        endpoints.MapPromptEndpoints();
        endpoints.MapPromptAnalysisRunEndpoints();
    }

    public void AddWebhooks(WebhookRegistry webhooks) =>
        webhooks.Event(PromptAnalysisWebhooks.AnalysisFinished).Event(PromptAnalysisWebhooks.RunFinished).Consumer<PromptAnalysisWebhookEvents>();
}
