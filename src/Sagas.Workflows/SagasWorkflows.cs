using Sagas.LlmJobs;
using Sagas.Messaging;
using Sagas.Modules;
using Sagas.Modules.Assistant;
using Sagas.Notifications;
using Sagas.Persistence;
using Sagas.Persistence.DataProtection;
using Sagas.PromptAnalyses;
using Sagas.ScanSessions;

namespace Sagas.Workflows;

/// <summary>
/// The workflows of this build, in the order they appear in the dashboard, the worker roles and the docs. Adding a
/// workflow is its project (see docs/adding-a-workflow.md) and one line here.
/// </summary>
public static class SagasWorkflows
{
    public static IReadOnlyList<IWorkflowModule> Modules { get; } =
    [
        new LlmJobsModule(),
        new ScanSessionsModule(),
        new PromptAnalysesModule(),
    ];

    /// <summary>
    /// The one database: the infrastructure's tables (the assistant's question records among them: its host cannot add
    /// to this model, see <see cref="AssistantQuestion"/>) and every workflow's, migrated from this assembly.
    /// </summary>
    public static SagasModel Model { get; } = new(
        [
            SagasDataProtection.ModelAssembly, MessagingInfrastructure.ModelAssembly, NotificationsRegistration.ModelAssembly, AssistantQuestion.ModelAssembly,
            .. Modules.Select(module => module.Assembly),
        ],
        typeof(SagasWorkflows).Assembly);

    public static WorkflowCatalog Catalog { get; } = new(Modules, Model);
}
