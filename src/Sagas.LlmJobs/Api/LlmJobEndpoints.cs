using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.LlmJobs;
using Sagas.Core.Configuration;
using Sagas.LlmJobs.Data;
using Sagas.LlmJobs.Providers;
using Sagas.Modules.Api;
using Sagas.Modules.Usage;
using Sagas.Modules.Usage.Budgets;
using Sagas.Persistence;

namespace Sagas.LlmJobs.Api;

public static class LlmJobEndpoints
{
    public static IEndpointRouteBuilder MapLlmJobEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/llm-jobs").WithTags("LLM jobs");

        group.MapPost("/", SubmitAsync).Mutation()
            .WithSummary("Submits a job of items to the configured LLM provider; the job runs in the background.")
            .Produces<AcceptedJob>(StatusCodes.Status202Accepted).ProducesValidationProblem();
        group.MapGet("/", ListAsync).WithSummary("Lists jobs, newest first, optionally by status.");
        group.MapGet("/{id:guid}", GetAsync).WithSummary("A job's status and aggregates with a page of its items.");
        group.MapPost("/{id:guid}/cancel", CancelAsync).Mutation()
            .WithSummary("Cancels a queued or running job; provider tasks are cancelled too.");
        group.MapPut("/{id:guid}/budget", SetBudgetAsync).Mutation()
            .WithSummary("Sets or raises the job's budget in USD; a job paused by its budget resumes.")
            .Produces<BudgetView>().ProducesValidationProblem();
        return endpoints;
    }

    private static async Task<IResult> SubmitAsync(
        SubmitLlmJobRequest? request,
        IPublishEndpoint publisher,
        BudgetStore budgets,
        LlmJobsOptions options,
        LlmJobProviderCatalog providers,
        TimeProvider clock,
        HttpContext http,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request is null)
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["A JSON body is required."] });

        var provider = providers.Default;
        var kind = request.Kind?.Trim();
        if (string.IsNullOrEmpty(kind))
            errors["kind"] = [$"kind is required; one of: {string.Join(", ", options.Kinds.Keys)}."];
        else if (!options.Kinds.ContainsKey(kind))
            errors["kind"] = [$"Unknown kind '{Clip(kind)}'; one of: {string.Join(", ", options.Kinds.Keys)}."];

        var model = string.IsNullOrWhiteSpace(request.Model) ? null : request.Model.Trim();
        if (model is not null && model != provider.DefaultModel && !options.AllowedModels.Contains(model, StringComparer.Ordinal))
            errors["model"] = [$"Unknown model '{Clip(model)}'; one of: {string.Join(", ", options.AllowedModels.Append(provider.DefaultModel).Distinct())}."];

        if (request.Instructions is { Length: > 20_000 })
            errors["instructions"] = ["instructions are limited to 20,000 characters."];

        var budget = BudgetLimits.Read(request.BudgetUsd, "budgetUsd", required: false, errors);
        var priority = ParseOptional(request.Priority, LlmJobPriority.Normal, "priority", errors);
        var mode = ParseOptional(request.Mode, LlmJobMode.Background, "mode", errors);

        var now = clock.GetUtcNow();
        var expiresAt = request.ExpiresAt ?? now + options.DefaultDeadline;
        if (expiresAt <= now)
            errors["expiresAt"] = ["expiresAt must be in the future."];

        var items = new List<LlmJobItemInput>();
        if (request.Items is null || request.Items.Count == 0)
            errors["items"] = ["items must hold at least one item."];
        else if (request.Items.Count > options.MaxItemsPerJob)
            errors["items"] = [$"A job holds at most {options.MaxItemsPerJob:N0} items; this one has {request.Items.Count:N0}."];
        else
            items = ValidateItems(request.Items, provider.Limits, errors);

        if (errors.Count > 0)
            return Results.ValidationProblem(errors, title: "The job was not submitted");

        var jobId = NewId.NextGuid();
        // Stored before the job exists, so that the job's first item already reserves against it.
        if (budget is { } limit)
            await budgets.SetLimitAsync(BudgetScope.Run(LlmJobsModule.WorkflowName, jobId), limit, cancellationToken);
        await publisher.Publish(
            new SubmitLlmJob(jobId, kind!, model, request.Instructions, priority, mode, items, expiresAt, http.User.Identity?.Name),
            context => context.TrySetPriority((byte)priority),
            cancellationToken);
        return Results.Accepted($"/api/llm-jobs/{jobId}", new AcceptedJob(jobId));
    }

    private static List<LlmJobItemInput> ValidateItems(List<SubmitLlmJobItemRequest?> requested, LlmProviderLimits limits, Dictionary<string, string[]> errors)
    {
        var items = new List<LlmJobItemInput>(requested.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var index = 0; index < requested.Count && errors.Count < 50; index++)
        {
            var field = $"items[{index}]";
            if (requested[index] is not { } item)
            {
                errors[field] = ["An item cannot be null."];
                continue;
            }

            var id = string.IsNullOrWhiteSpace(item.Id) ? (index + 1).ToString(global::System.Globalization.CultureInfo.InvariantCulture) : item.Id.Trim();
            if (id.Length > limits.MaxItemIdLength)
                errors[field + ".id"] = [$"An item id is at most {limits.MaxItemIdLength} characters."];
            else if (!seen.Add(id))
                errors[field + ".id"] = [$"Duplicate item id '{Clip(id)}'; ids are unique within a job."];
            if (string.IsNullOrWhiteSpace(item.EntityType) || item.EntityType.Length > 100)
                errors[field + ".entityType"] = ["entityType is required, at most 100 characters."];
            if (string.IsNullOrWhiteSpace(item.EntityId) || item.EntityId.Length > 200)
                errors[field + ".entityId"] = ["entityId is required, at most 200 characters."];
            if (string.IsNullOrWhiteSpace(item.Input))
                errors[field + ".input"] = ["input is required."];
            else if (item.Input.Length > limits.MaxInputCharacters)
                errors[field + ".input"] = [$"input is {item.Input.Length:N0} characters; at most {limits.MaxInputCharacters:N0} are accepted."];

            items.Add(new LlmJobItemInput(id, item.EntityType?.Trim() ?? "", item.EntityId?.Trim() ?? "", item.Input ?? ""));
        }

        return items;
    }

    private static async Task<IResult> ListAsync(SagasDbContext db, string? status, int? page, int? pageSize, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (status is not null && !LlmJobStatus.All.Contains(status))
            errors["status"] = [$"status is one of: {string.Join(", ", LlmJobStatus.All)}."];
        if (!Paging.TryCreate(page, pageSize, errors, out var paging))
            return Results.ValidationProblem(errors);
        if (errors.Count > 0)
            return Results.ValidationProblem(errors);

        var query = db.Set<LlmJob>().AsNoTracking();
        if (status is not null)
            query = query.Where(j => j.Status == status);
        var total = await query.CountAsync(cancellationToken);
        var jobs = await query.OrderByDescending(j => j.CreatedAt).ThenBy(j => j.Id).Skip(paging.Skip).Take(paging.PageSize).ToListAsync(cancellationToken);
        return Results.Ok(new PageOf<LlmJobView>([.. jobs.Select(LlmJobView.From)], paging.Page, paging.PageSize, total));
    }

    private static async Task<IResult> GetAsync(Guid id, SagasDbContext db, BudgetStore budgets, string? itemStatus, int? itemsPage, int? itemsPageSize, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (itemStatus is not null && !LlmJobItemStatus.All.Contains(itemStatus))
            errors["itemStatus"] = [$"itemStatus is one of: {string.Join(", ", LlmJobItemStatus.All)}."];
        if (!Paging.TryCreate(itemsPage, itemsPageSize, errors, out var paging, "items") || errors.Count > 0)
            return Results.ValidationProblem(errors);

        var job = await db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == id, cancellationToken);
        if (job is null)
            return NotFound(id);

        var items = db.Set<LlmJobItem>().AsNoTracking().Where(i => i.JobId == id);
        if (itemStatus is not null)
            items = items.Where(i => i.Status == itemStatus);
        var page = await items.OrderBy(i => i.Sequence).Skip(paging.Skip).Take(paging.PageSize).ToListAsync(cancellationToken);
        // Most jobs fit on one page of items: the page itself says how many there are, one query fewer per read.
        var total = paging.TotalShownBy(page.Count) ?? await items.CountAsync(cancellationToken);
        var usage = await UsageTotals.OfRunAsync(db, id, cancellationToken);
        var budget = await budgets.FindAsync(BudgetScope.Run(LlmJobsModule.WorkflowName, id), cancellationToken);
        var view = LlmJobView.From(job);
        if (budget is { IsPaused: true } && job.IsActive)
            view = view with { Status = LlmJobStatus.Paused };
        return Results.Ok(new LlmJobDetailView(view, job.Instructions, new PageOf<LlmJobItemView>([.. page.Select(LlmJobItemView.From)], paging.Page, paging.PageSize, total), usage)
        {
            Budget = budget is null ? null : BudgetView.From(budget),
        });
    }

    private static async Task<IResult> SetBudgetAsync(Guid id, SetBudgetRequest? request, SagasDbContext db, BudgetStore budgets, IPublishEndpoint publisher, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var limit = BudgetLimits.Read(request?.LimitUsd, "limitUsd", required: true, errors);
        if (errors.Count > 0)
            return Results.ValidationProblem(errors, title: "The budget was not changed");

        var job = await db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == id, cancellationToken);
        if (job is null)
            return NotFound(id);
        if (!job.IsActive)
        {
            return Results.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The job has already finished",
                detail: $"Job {id} is {job.Status}; only a queued or running job's budget can be changed.");
        }

        var change = await budgets.SetLimitAsync(BudgetScope.Run(LlmJobsModule.WorkflowName, id), limit!.Value, cancellationToken);
        // Only a raise that lifted a pause resumes the job; a second raise finds nothing paused and publishes nothing.
        if (change.WasPaused)
            await publisher.Publish(new ResumeLlmJob(id), cancellationToken);
        return Results.Ok(BudgetView.From(change.Budget));
    }

    private static async Task<IResult> CancelAsync(Guid id, CancelLlmJobRequest? request, SagasDbContext db, IPublishEndpoint publisher, CancellationToken cancellationToken)
    {
        var job = await db.Set<LlmJob>().AsNoTracking().SingleOrDefaultAsync(j => j.Id == id, cancellationToken);
        if (job is null)
            return NotFound(id);
        if (!job.IsActive)
        {
            return Results.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The job has already finished",
                detail: $"Job {id} is {job.Status}; only queued or running jobs can be cancelled.");
        }

        if (request?.Reason is { Length: > 1000 })
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["reason"] = ["reason is at most 1,000 characters."] });

        await publisher.Publish(new CancelLlmJob(id, request?.Reason), cancellationToken);
        return Results.Accepted($"/api/llm-jobs/{id}", new AcceptedJob(id));
    }

    private static IResult NotFound(Guid id) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such job", detail: $"There is no LLM job {id} (a job just submitted appears within seconds).");

    private static TEnum ParseOptional<TEnum>(string? value, TEnum fallback, string field, Dictionary<string, string[]> errors)
        where TEnum : struct, Enum
    {
        if (string.IsNullOrWhiteSpace(value))
            return fallback;
        try
        {
            return ConfiguredName.Parse<TEnum>(value, field);
        }
        catch (SagasConfigurationException)
        {
            errors[field] = [$"{field} is one of: {string.Join(", ", Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}."];
            return fallback;
        }
    }

    private static string Clip(string text) => text.Length <= 60 ? text : text[..60] + "…";
}

public sealed record LlmJobView(
    Guid Id,
    string Kind,
    string Model,
    string Provider,
    bool Simulated,
    string Priority,
    string Mode,
    string Status,
    int TotalItems,
    int ProcessedItems,
    int SucceededItems,
    int FailedItems,
    int CancelledItems,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? NextPollAt,
    string? StopReason,
    string? LastError)
{
    public static LlmJobView From(LlmJob job) => new(
        job.Id, job.Kind, job.Model, job.Provider, job.Simulated, job.Priority.ToString().ToLowerInvariant(), job.Mode.ToString().ToLowerInvariant(),
        job.Status, job.TotalItems, job.ProcessedItems, job.SucceededItems, job.FailedItems, job.CancelledItems,
        job.CreatedAt, job.StartedAt, job.FinishedAt, job.ExpiresAt, job.NextPollAt, job.StopDetail, job.LastError);
}

/// <param name="Usage">Tokens and cost of the job's model calls so far, from <c>model_usage</c> (batch discount applied).</param>
public sealed record LlmJobDetailView(LlmJobView Job, string Instructions, PageOf<LlmJobItemView> Items, UsageTotal? Usage = null)
{
    /// <summary>The job's budget (limit, spent, reserved, pause), when it has one.</summary>
    public BudgetView? Budget { get; init; }
}

public sealed record LlmJobItemView(
    string Id,
    string EntityType,
    string EntityId,
    string Status,
    string? ProviderTaskId,
    string? ProviderBatchId,
    bool? Flagged,
    string? Category,
    double? Confidence,
    string? Reason,
    string? Error,
    int? InputTokens,
    int? OutputTokens,
    DateTimeOffset? CompletedAt)
{
    public static LlmJobItemView From(LlmJobItem item) => new(
        item.ItemId, item.EntityType, item.EntityId, item.Status, item.ProviderTaskId, item.ProviderBatchId,
        item.Flagged, item.Category, item.Confidence, item.Reason, item.Error, item.InputTokens, item.OutputTokens, item.CompletedAt);
}
