using System.Reflection;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.Diagnostics;
using Sagas.Modules;
using Sagas.Persistence;

namespace Sagas.Api.System;

public static class SystemEndpoints
{
    public static IEndpointRouteBuilder MapSystemEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/system").WithTags("System");

        // Proves the whole path API → broker → worker → broker → API, which /health/ready cannot.
        group.MapPost("/worker-check", async (IRequestClient<CheckWorker> client, CancellationToken cancellationToken) =>
            {
                try
                {
                    var response = await client.GetResponse<WorkerChecked>(new CheckWorker(NewId.NextGuid()), cancellationToken, RequestTimeout.After(s: 10));
                    return Results.Ok(response.Message);
                }
                catch (RequestTimeoutException)
                {
                    return Results.Problem(
                        title: "No worker answered",
                        detail: "No process with a worker role answered within 10 seconds. Check that workers are running and connected to the broker.",
                        statusCode: StatusCodes.Status504GatewayTimeout);
                }
            })
            .WithName("CheckWorker")
            .WithSummary("Round-trips a message through the bus to any worker.");

        group.MapGet("/sagas", GetSagasAsync)
            .WithName("GetSagasByState")
            .WithSummary("Counts the saga instances of each workflow by their current state, read from the saga tables.")
            .Produces<SagaStateReport>();

        group.MapFailedMessageEndpoints();
        group.MapFailedMessageGroupEndpoints();
        group.MapWebhookDeliveryEndpoints();
        group.MapBreakerEndpoints();
        return endpoints;
    }

    private static async Task<IResult> GetSagasAsync(SagasDbContext db, WorkflowCatalog workflows, CancellationToken cancellationToken)
    {
        // Every saga state the model maps, in the workflows' order; one query at a time (a DbContext runs one at a time).
        var assemblies = workflows.Assemblies.ToList();
        var states = db.Model.GetEntityTypes()
            .Select(entity => entity.ClrType)
            .Where(type => typeof(SagaStateMachineInstance).IsAssignableFrom(type) && type.GetProperty(CurrentStateProperty)?.PropertyType == typeof(string))
            .OrderBy(type => assemblies.IndexOf(type.Assembly))
            .ThenBy(type => type.Name, StringComparer.Ordinal);
        var sagas = new List<SagaStateSummary>();
        foreach (var state in states)
            sagas.Add(await CountAsync(SagaName(state), db, state, cancellationToken));
        return Results.Ok(new SagaStateReport(sagas));
    }

    private const string CurrentStateProperty = "CurrentState";

    /// <summary><c>LlmJobState</c> → <c>llm-job</c>.</summary>
    private static string SagaName(Type state)
    {
        var name = state.Name.EndsWith("State", StringComparison.Ordinal) ? state.Name[..^"State".Length] : state.Name;
        return KebabCaseEndpointNameFormatter.Instance.SanitizeName(name);
    }

    private static async Task<SagaStateSummary> CountAsync(string name, SagasDbContext db, Type state, CancellationToken cancellationToken)
    {
        var currentStates = (IQueryable<string>)typeof(SystemEndpoints).GetMethod(nameof(CurrentStates), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(state).Invoke(null, [db])!;
        var counts = await currentStates.GroupBy(current => current)
            .Select(g => new { State = g.Key, Count = g.Count() })
            .ToListAsync(cancellationToken);
        var byState = counts.OrderBy(c => c.State, StringComparer.Ordinal).Select(c => new SagaStateCount(c.State, c.Count)).ToList();
        return new SagaStateSummary(name, byState, byState.Sum(s => s.Count));
    }

    private static IQueryable<string> CurrentStates<TState>(SagasDbContext db)
        where TState : class =>
        db.Set<TState>().AsNoTracking().Select(saga => EF.Property<string>(saga, CurrentStateProperty));
}

public sealed record SagaStateCount(string State, int Count);

/// <summary>One saga's instances by current state, terminal states included (no saga deletes its instances).</summary>
public sealed record SagaStateSummary(string Name, IReadOnlyList<SagaStateCount> States, int Total);

public sealed record SagaStateReport(IReadOnlyList<SagaStateSummary> Sagas);
