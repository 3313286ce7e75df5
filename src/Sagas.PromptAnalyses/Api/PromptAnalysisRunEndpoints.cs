using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Modules.Api;
using Sagas.Modules.Usage;
using Sagas.Modules.Usage.Budgets;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Runs;
using Sagas.PromptAnalyses.StateMachines;

namespace Sagas.PromptAnalyses.Api;

public static class PromptAnalysisRunEndpoints
{
    private const string PausedState = nameof(PromptAnalysisStateMachine.Paused);

    public static IEndpointRouteBuilder MapPromptAnalysisRunEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/prompt-analyses/runs").WithTags("Prompt analyses");
        group.MapPost("/", StartAsync).Mutation()
            .WithSummary("Starts a run over all active prompts, one project's or one prompt, with an optional budgetUsd; the same scope again the same UTC day returns the same run unless force is true.")
            .Produces<AcceptedRun>(StatusCodes.Status202Accepted).ProducesValidationProblem();
        group.MapGet("/", ListAsync).WithSummary("Lists runs, newest first, with their progress.");
        group.MapGet("/{runId:guid}", GetAsync)
            .WithSummary("A run with a page of its analyses, each with its platform responses, tokens, cost and citations.");
        group.MapPost("/{runId:guid}/cancel", CancelRunAsync).Mutation()
            .WithSummary("Cancels a run: its pending analyses never start, running ones ask no further platform, and prompts its fan-out has not reached yet are not analysed.")
            .Produces<AcceptedCancel>(StatusCodes.Status202Accepted).ProducesValidationProblem();
        endpoints.MapGroup("/api/prompt-analyses/analyses").WithTags("Prompt analyses")
            .MapPost("/{analysisId:guid}/cancel", CancelAnalysisAsync).Mutation()
            .WithSummary("Cancels one analysis (one prompt of a run): pending, it never starts; running, it asks no further platform.")
            .Produces<AcceptedCancel>(StatusCodes.Status202Accepted).ProducesValidationProblem();
        group.MapPut("/{runId:guid}/budget", SetBudgetAsync).Mutation()
            .WithSummary("Sets or raises the run's budget in USD; analyses paused by it ask their parked platforms.")
            .Produces<BudgetView>().ProducesValidationProblem();
        return endpoints;
    }

    private static async Task<IResult> CancelAnalysisAsync(Guid analysisId, CancelRequest? request, SagasDbContext db, IPublishEndpoint publisher, CancellationToken cancellationToken)
    {
        var job = await db.Set<AnalysisJob>().AsNoTracking()
            .Where(j => j.Id == analysisId)
            .Select(j => new { j.RunId, j.Status })
            .SingleOrDefaultAsync(cancellationToken);
        if (job is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such analysis",
                detail: $"There is no prompt analysis {analysisId} (a run's analyses appear as its fan-out reaches their prompts).");
        }

        if (job.Status is not (AnalysisJobStatus.Pending or AnalysisJobStatus.Running))
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "The analysis has already finished",
                detail: $"Analysis {analysisId} is {job.Status}; only pending or running analyses can be cancelled.");
        }

        if (ReasonTooLong(request) is { } refused)
            return refused;

        await publisher.Publish(new CancelPromptAnalysis(analysisId, request?.Reason), cancellationToken);
        return Results.Accepted($"/api/prompt-analyses/runs/{job.RunId}", new AcceptedCancel(analysisId, job.RunId));
    }

    private static async Task<IResult> CancelRunAsync(Guid runId, CancelRequest? request, SagasDbContext db, IPublishEndpoint publisher, CancellationToken cancellationToken)
    {
        var run = await db.Set<AnalysisRun>().AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
        if (run is null)
            return RunNotFound(runId);
        if (run.FinishedAt is not null)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "The run has already finished",
                detail: $"Run {runId} finished at {run.FinishedAt:O}; only a run with pending or running analyses can be cancelled.");
        }

        if (ReasonTooLong(request) is { } refused)
            return refused;

        await publisher.Publish(new CancelPromptAnalysisRun(runId, request?.Reason), cancellationToken);
        return Results.Accepted($"/api/prompt-analyses/runs/{runId}", new AcceptedCancel(runId, runId));
    }

    private static IResult? ReasonTooLong(CancelRequest? request) =>
        request?.Reason is { Length: > 1000 }
            ? Results.ValidationProblem(new Dictionary<string, string[]> { ["reason"] = ["reason is at most 1,000 characters."] })
            : null;

    private static IResult RunNotFound(Guid runId) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such run", detail: $"There is no prompt analysis run {runId}.");

    private static async Task<IResult> StartAsync(StartRunRequest? request, PromptAnalysisRunStarter starter, SagasDbContext db, HttpContext http, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var scope = string.IsNullOrWhiteSpace(request?.Scope) ? AnalysisRunScope.All : request.Scope.Trim().ToLowerInvariant();
        if (!AnalysisRunScope.Values.Contains(scope))
            errors["scope"] = [$"scope is one of: {string.Join(", ", AnalysisRunScope.Values)}."];

        if (scope == AnalysisRunScope.Project)
        {
            if (request?.ProjectId is not { } projectId)
                errors["projectId"] = ["A project run needs projectId."];
            else if (!await db.Set<AnalysisProject>().AnyAsync(p => p.Id == projectId, cancellationToken))
                return ProjectEndpoints.NotFound(projectId);
        }
        else if (request?.ProjectId is not null)
        {
            errors["projectId"] = ["projectId only goes with scope 'project'."];
        }

        if (scope == AnalysisRunScope.Prompt)
        {
            if (request?.PromptId is not { } promptId)
                errors["promptId"] = ["A prompt run needs promptId."];
            else if (!await db.Set<TrackedPrompt>().AnyAsync(p => p.Id == promptId, cancellationToken))
                return PromptEndpoints.NotFound(promptId);
        }
        else if (request?.PromptId is not null)
        {
            errors["promptId"] = ["promptId only goes with scope 'prompt'."];
        }

        var budget = BudgetLimits.Read(request?.BudgetUsd, "budgetUsd", required: false, errors);

        if (errors.Count > 0)
            return Results.ValidationProblem(errors, title: "The run was not started");

        var run = await starter.StartOnDemandAsync(
            new RunRequest(scope, request?.ProjectId, request?.PromptId, request?.Force ?? false, http.User.Identity?.Name, budget),
            cancellationToken);
        return Results.Accepted($"/api/prompt-analyses/runs/{run.RunId}", new AcceptedRun(run.RunId, run.Created));
    }

    private static async Task<IResult> ListAsync(SagasDbContext db, int? page, int? pageSize, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!Paging.TryCreate(page, pageSize, errors, out var paging))
            return Results.ValidationProblem(errors);

        var query = db.Set<AnalysisRun>().AsNoTracking();
        var total = await query.CountAsync(cancellationToken);
        var runs = await query.OrderByDescending(r => r.CreatedAt).ThenBy(r => r.Id).Skip(paging.Skip).Take(paging.PageSize).ToListAsync(cancellationToken);
        var views = new List<RunView>(runs.Count);
        foreach (var run in runs)
            views.Add(await ViewAsync(db, run, cancellationToken));
        return Results.Ok(new PageOf<RunView>(views, paging.Page, paging.PageSize, total));
    }

    private static async Task<IResult> SetBudgetAsync(Guid runId, SetBudgetRequest? request, SagasDbContext db, PromptAnalysisRunBudget runBudget, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var limit = BudgetLimits.Read(request?.LimitUsd, "limitUsd", required: true, errors);
        if (errors.Count > 0)
            return Results.ValidationProblem(errors, title: "The budget was not changed");

        var run = await db.Set<AnalysisRun>().AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
        if (run is null)
            return RunNotFound(runId);
        if (run.FinishedAt is not null)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "The run has already finished",
                detail: $"Run {runId} finished at {run.FinishedAt:u}; only an unfinished run's budget can be changed.");
        }

        var change = await runBudget.SetAsync(runId, limit!.Value, cancellationToken);
        return Results.Ok(BudgetView.From(change.Budget));
    }

    private static async Task<IResult> GetAsync(Guid runId, SagasDbContext db, BudgetStore budgets, string? status, int? analysesPage, int? analysesPageSize, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (status is not null && !AnalysisJobStatus.All.Contains(status))
            errors["status"] = [$"status is one of: {string.Join(", ", AnalysisJobStatus.All)}."];
        if (!Paging.TryCreate(analysesPage, analysesPageSize, errors, out var paging, "analyses") || errors.Count > 0)
            return Results.ValidationProblem(errors);

        var run = await db.Set<AnalysisRun>().AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
        if (run is null)
            return RunNotFound(runId);

        var jobs = db.Set<AnalysisJob>().AsNoTracking().Where(j => j.RunId == runId);
        if (status is not null)
            jobs = jobs.Where(j => j.Status == status);
        var total = await jobs.CountAsync(cancellationToken);
        var page = await jobs.OrderBy(j => j.CreatedAt).ThenBy(j => j.Id).Skip(paging.Skip).Take(paging.PageSize).ToListAsync(cancellationToken);

        var jobIds = page.Select(j => j.Id).ToList();
        var responses = await db.Set<PlatformResponse>().AsNoTracking().Where(r => jobIds.Contains(r.AnalysisJobId)).ToListAsync(cancellationToken);
        var responseIds = responses.Select(r => r.Id).ToList();
        var citations = (await db.Set<ResponseCitation>().AsNoTracking().Where(c => responseIds.Contains(c.ResponseId)).ToListAsync(cancellationToken))
            .ToLookup(c => c.ResponseId);
        var byJob = responses.ToLookup(r => r.AnalysisJobId);
        // The job row says running; whether a budget holds it is the saga's state.
        var paused = await db.Set<PromptAnalysisState>().AsNoTracking()
            .Where(s => jobIds.Contains(s.CorrelationId) && s.CurrentState == PausedState)
            .ToDictionaryAsync(s => s.CorrelationId, s => s.PausedReason, cancellationToken);

        var views = page.Select(job =>
        {
            var jobResponses = byJob[job.Id].OrderBy(r => r.Platform, StringComparer.Ordinal).Select(r => new PlatformResponseView(
                r.Id, r.Platform, r.Model, r.Status, r.ResponseText, r.InputTokens, r.OutputTokens, r.TotalTokens, r.Cost,
                r.ExecutionTimeMs, r.MetadataJson, r.ErrorMessage, r.BrandMentioned, r.DomainCited, r.Attempts, r.CreatedAt, r.CompletedAt,
                [.. citations[r.Id].OrderBy(c => c.Position).Select(c => new CitationView(c.Position, c.Url, c.Domain, c.Title, c.IsProjectDomain))])).ToList();
            return new AnalysisJobView(
                job.Id, job.PromptId, job.ProjectId, job.PromptText, job.Status, job.TotalPlatforms, job.CompletedPlatforms, job.FailedPlatforms,
                jobResponses.Sum(r => r.TotalTokens ?? 0), jobResponses.Sum(r => r.Cost ?? 0m), job.CreatedAt, job.StartedAt, job.CompletedAt, jobResponses)
            {
                Paused = paused.ContainsKey(job.Id),
                PausedReason = paused.GetValueOrDefault(job.Id),
            };
        }).ToList();

        var usage = await UsageTotals.OfRunAsync(db, runId, cancellationToken);
        var budget = await budgets.FindAsync(PromptAnalysisRunBudget.IdOf(runId), cancellationToken);
        return Results.Ok(new RunDetailView(await ViewAsync(db, run, cancellationToken), new PageOf<AnalysisJobView>(views, paging.Page, paging.PageSize, total), usage)
        {
            Budget = budget is null ? null : BudgetView.From(budget),
        });
    }

    private static async Task<RunView> ViewAsync(SagasDbContext db, AnalysisRun run, CancellationToken cancellationToken)
    {
        var counts = await db.Set<AnalysisJob>().AsNoTracking()
            .Where(j => j.RunId == run.Id)
            .GroupBy(j => j.Status)
            .Select(g => new { Status = g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.Status, g => g.Count, cancellationToken);
        int Count(string status) => counts.GetValueOrDefault(status);
        // From the run's running jobs to their sagas by key: the saga table has no index on the run.
        var paused = counts.ContainsKey(AnalysisJobStatus.Running)
            ? await db.Set<AnalysisJob>().AsNoTracking()
                .Where(j => j.RunId == run.Id && j.Status == AnalysisJobStatus.Running)
                .Join(db.Set<PromptAnalysisState>().AsNoTracking(), j => j.Id, s => s.CorrelationId, (j, s) => s.CurrentState)
                .CountAsync(state => state == PausedState, cancellationToken)
            : 0;
        // The recorded finish, not the live counts: between the last analysis turning final and the run's finish
        // committing, the run still reads running, so "finished" in a view always means the event has been queued.
        var status = run.FinishedAt is not null ? "finished" : run.DispatchedAt is null ? "dispatching" : "running";
        return new RunView(run.Id, run.Trigger, run.Scope, run.ProjectId, run.PromptId, run.SlotTime, run.Forced, status, run.TotalAnalyses,
            Count(AnalysisJobStatus.Pending), Count(AnalysisJobStatus.Running), Count(AnalysisJobStatus.Completed), Count(AnalysisJobStatus.Failed),
            run.CreatedAt, run.DispatchedAt, run.FinishedAt, Count(AnalysisJobStatus.Cancelled), run.CancelRequestedAt, paused);
    }
}
