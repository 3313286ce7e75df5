using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Sagas.Modules;
using Sagas.Modules.Runs;
using Sagas.ScanSessions.Runs;
using Sagas.Modules.Assistant;
using Sagas.Modules.Dashboard;
using Sagas.Modules.Webhooks;
using Sagas.ScanSessions.Api;
using Sagas.ScanSessions.Assistant;
using Sagas.ScanSessions.Realtime;
using Sagas.ScanSessions.Retention;
using Sagas.ScanSessions.Webhooks;
using Sagas.Storage;

namespace Sagas.ScanSessions;

/// <summary>Scan sessions: thousands of files fanned out to workers that extract text and match hole codes.</summary>
public sealed class ScanSessionsModule : IWorkflowModule
{
    public static readonly WorkerRole SessionsRole = new("scan-sessions", "Scan session saga, dispatcher and report builder.");

    public static readonly WorkerRole FilesRole = new("scan-files", "Per-file scanning workers; the role to scale out.");

    public string Name => "scan-sessions";

    public IReadOnlyList<WorkerRole> Roles { get; } = [SessionsRole, FilesRole];

    public DashboardPage? Page { get; } = new("scan", "Scan");

    public WorkflowRuns? Runs { get; } = new ScanSessionRuns();

    public void AddServices(WorkflowServices workflow)
    {
        if (workflow.Roles.Runs(SessionsRole) || workflow.Roles.Runs(FilesRole))
            workflow.Services.AddScanSessions(workflow.Configuration, workflow.ContentRoot);
        // Retention runs wherever the scheduler role is, which need not run a scan role: it deletes blobs too.
        workflow.Services.AddSagasBlobStore(workflow.Configuration, workflow.ContentRoot);
        workflow.Services.AddScanSessionRetention();
    }

    public void AddConsumers(WorkflowConsumers workflow)
    {
        if (workflow.Roles.Runs(SessionsRole))
            workflow.Bus.AddScanSessionWorkers(workflow.SagaConcurrency);
        if (workflow.Roles.Runs(FilesRole))
            workflow.Bus.AddScanFileWorkers();
    }

    public void AddApi(WorkflowApi workflow)
    {
        // The API stores uploads and reads session rows whatever worker roles this process runs.
        workflow.Services.AddScanSessions(workflow.Configuration, workflow.ContentRoot);
        workflow.Services.AddValidatedOptions<ScanSessionApiOptions>(workflow.Configuration, ScanSessionApiOptions.SectionName);
        workflow.Services.AddScoped<ScanSessionStarter>();
        workflow.Services
            .AddAssistantTool<CountScanSessionsTool>()
            .AddRecentFailureSource<FailedScanSessions>();
        workflow.Realtime
            .Consumer<ScanSessionRealtimeEvents>()
            .Subscription(ScanSessionRealtime.SubscriptionProperty, ScanSessionRealtime.SubscribeAsync)
            .Action(ScanSessionRealtime.StartAction, ScanSessionRealtime.StartAsync);
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints) => endpoints.MapScanSessionEndpoints();

    public void AddWebhooks(WebhookRegistry webhooks) =>
        webhooks.Event(ScanSessionWebhooks.Completed).Event(ScanSessionWebhooks.Failed).Event(ScanSessionWebhooks.Cancelled)
            .Consumer<ScanSessionWebhookEvents>();
}
