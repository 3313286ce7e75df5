using System.Reflection;
using Sagas.Modules.Webhooks;
using Sagas.Persistence;

namespace Sagas.Modules;

/// <summary>The workflows a build runs and the database model they compose with the shared infrastructure.</summary>
public sealed record WorkflowCatalog
{
    public WorkflowCatalog(IReadOnlyList<IWorkflowModule> modules, SagasModel model)
    {
        Modules = modules;
        Model = model;
        var duplicate = modules.GroupBy(module => module.Name).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException($"Two workflows are named '{duplicate.Key}'.");
        Webhooks = new WebhookRegistry();
        foreach (var module in modules)
            module.AddWebhooks(Webhooks);
    }

    public IReadOnlyList<IWorkflowModule> Modules { get; }

    public SagasModel Model { get; }

    /// <summary>Every webhook event the workflows send and the consumers that raise them.</summary>
    public WebhookRegistry Webhooks { get; }

    public IEnumerable<WorkerRole> Roles => Modules.SelectMany(module => module.Roles);

    /// <summary>The workflows' assemblies: their entity configurations and message contracts.</summary>
    public IEnumerable<Assembly> Assemblies => Modules.Select(module => module.Assembly);
}
