using MassTransit;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.Diagnostics;
using Sagas.Persistence;
using Sagas.Persistence.LlmJobs;
using Sagas.Persistence.PromptAnalyses;
using Sagas.Persistence.ScanSessions;

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
        return endpoints;
    }

    private static async Task<IResult> GetSagasAsync(SagasDbContext db, CancellationToken cancellationToken)
    {
        // One at a time: a DbContext does not run queries concurrently.
        SagaStateSummary[] sagas =
        [
            await CountAsync("llm-job", db.Set<LlmJobState>().AsNoTracking().Select(s => s.CurrentState), cancellationToken),
            await CountAsync("scan-session", db.Set<ScanSessionState>().AsNoTracking().Select(s => s.CurrentState), cancellationToken),
            await CountAsync("prompt-analysis", db.Set<PromptAnalysisState>().AsNoTracking().Select(s => s.CurrentState), cancellationToken),
        ];
        return Results.Ok(new SagaStateReport(sagas));
    }

    private static async Task<SagaStateSummary> CountAsync(string name, IQueryable<string> currentStates, CancellationToken cancellationToken)
    {
        var counts = await currentStates.GroupBy(state => state)
            .Select(g => new { State = g.Key, Count = g.Count() })
            .ToListAsync(cancellationToken);
        var states = counts.OrderBy(c => c.State, StringComparer.Ordinal).Select(c => new SagaStateCount(c.State, c.Count)).ToList();
        return new SagaStateSummary(name, states, states.Sum(s => s.Count));
    }
}

public sealed record SagaStateCount(string State, int Count);

/// <summary>One saga's instances by current state, terminal states included (no saga deletes its instances).</summary>
public sealed record SagaStateSummary(string Name, IReadOnlyList<SagaStateCount> States, int Total);

public sealed record SagaStateReport(IReadOnlyList<SagaStateSummary> Sagas);
