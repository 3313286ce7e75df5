using Microsoft.AspNetCore.Routing;
using Sagas.LlmJobs.Api;
using Sagas.LlmJobs.Assistant;
using Sagas.LlmJobs.Realtime;
using Sagas.LlmJobs.Webhooks;
using Sagas.Modules;
using Sagas.Modules.Runs;
using Sagas.LlmJobs.Runs;
using Sagas.Modules.Assistant;
using Sagas.Modules.Dashboard;
using Sagas.Modules.Webhooks;

namespace Sagas.LlmJobs;

/// <summary>LLM jobs: many items submitted to OpenAI, polled (or woken by webhooks) until done, each result applied.</summary>
public sealed class LlmJobsModule : IWorkflowModule
{
    public static readonly WorkerRole Role = new("llm-jobs", "LLM job saga, provider submission, polling and result application.");

    /// <summary>The workflow's name in usage rows and budgets.</summary>
    public const string WorkflowName = "llm-jobs";

    public string Name => WorkflowName;

    public IReadOnlyList<WorkerRole> Roles { get; } = [Role];

    public DashboardPage? Page { get; } = new("jobs", "LLM jobs");

    public WorkflowRuns? Runs { get; } = new LlmJobRuns();

    public void AddServices(WorkflowServices workflow) => workflow.Services.AddLlmJobs(workflow.Configuration);

    public void AddConsumers(WorkflowConsumers workflow)
    {
        if (workflow.Roles.Runs(Role))
            workflow.Bus.AddLlmJobWorkers(workflow.SagaConcurrency);
    }

    public void AddApi(WorkflowApi workflow)
    {
        workflow.Services.AddOpenAiWebhooks();
        workflow.Services
            .AddAssistantTool<CountLlmJobsTool>()
            .AddAssistantTool<LlmJobUsageTool>()
            .AddRecentFailureSource<FailedLlmJobs>()
            .AddRecentFailureSource<FailedLlmJobItems>();
        workflow.Realtime
            .Consumer<LlmJobRealtimeEvents>()
            .Subscription(LlmJobRealtime.SubscriptionProperty, LlmJobRealtime.SubscribeAsync);
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapLlmJobEndpoints();
        endpoints.MapOpenAiWebhookEndpoint();
    }

    public void AddWebhooks(WebhookRegistry webhooks) =>
        webhooks.Event(LlmJobWebhooks.Finished).Consumer<LlmJobWebhookEvents>();
}
