using System.Reflection;
using MassTransit;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Modules.Dashboard;
using Sagas.Modules.Realtime;
using Sagas.Modules.Runs;
using Sagas.Modules.Webhooks;
using Sagas.Persistence;

namespace Sagas.Modules;

/// <summary>
/// One workflow as the hosts see it: everything a process needs to run it, serve it and tell the outside about it.
/// Hosts, worker roles, the realtime hub, the webhook sender, the assistant and the dashboard iterate over the
/// registered modules and name none. A workflow project has exactly one implementation, listed in
/// <c>Sagas.Workflows</c> (see docs/adding-a-workflow.md).
/// </summary>
public interface IWorkflowModule
{
    /// <summary>kebab-case and unique, e.g. <c>llm-jobs</c>: logs, docs and the dashboard's list of workflows use it.</summary>
    string Name { get; }

    /// <summary>The worker roles this workflow brings, in the order operators see them.</summary>
    IReadOnlyList<WorkerRole> Roles { get; }

    /// <summary>
    /// The assembly holding the workflow's entity configurations (part of the one database model) and its message
    /// contracts (allowed through the transactional outbox).
    /// </summary>
    Assembly Assembly => GetType().Assembly;

    /// <summary>The dashboard page of this workflow, if it has one.</summary>
    DashboardPage? Page => null;

    /// <summary>Its runs for the shared run list and run history (<c>/api/runs</c>), if it has sagas to show.</summary>
    WorkflowRuns? Runs => null;

    /// <summary>Options, domain services and recurring schedules: what every process (API and workers) needs.</summary>
    void AddServices(WorkflowServices workflow);

    /// <summary>The sagas and consumers of the roles <paramref name="workflow"/> says this process runs.</summary>
    void AddConsumers(WorkflowConsumers workflow);

    /// <summary>
    /// What only the API adds: its services, the WebSocket's subscriptions and actions and the bus events they relay,
    /// and the assistant's tools over this workflow's tables.
    /// </summary>
    void AddApi(WorkflowApi workflow);

    /// <summary>The workflow's HTTP routes.</summary>
    void MapEndpoints(IEndpointRouteBuilder endpoints);

    /// <summary>The webhook events this workflow sends and the consumers that raise them (run by the notifications role).</summary>
    void AddWebhooks(WebhookRegistry webhooks);
}

/// <summary>What <see cref="IWorkflowModule.AddServices"/> registers into.</summary>
public sealed record WorkflowServices(IServiceCollection Services, IConfiguration Configuration, string ContentRoot, WorkerRoles Roles);

/// <summary>What <see cref="IWorkflowModule.AddConsumers"/> registers into.</summary>
public sealed record WorkflowConsumers(IBusRegistrationConfigurator Bus, IConfiguration Configuration, WorkerRoles Roles, SagaConcurrencyMode SagaConcurrency);

/// <summary>What <see cref="IWorkflowModule.AddApi"/> registers into.</summary>
public sealed record WorkflowApi(IServiceCollection Services, IConfiguration Configuration, string ContentRoot, RealtimeRegistry Realtime);
