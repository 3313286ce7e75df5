using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using System.Globalization;
using System.Text.Json;
using Sagas.Modules.Api;
using Sagas.Modules.Usage.Budgets;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Platforms;
using Sagas.PromptAnalyses.Runs;

namespace Sagas.PromptAnalyses.Api;

public static class ProjectEndpoints
{
    private const int MaxEntries = 50;

    public static IEndpointRouteBuilder MapProjectEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/projects").WithTags("Prompt analyses");
        group.MapPost("/", CreateAsync).Mutation()
            .WithSummary("Creates a project: the brand names and domains its prompts' answers are checked for.")
            .Produces<ProjectView>(StatusCodes.Status201Created).ProducesValidationProblem();
        group.MapGet("/", ListAsync).WithSummary("Lists projects by name.");
        group.MapGet("/{id:guid}", GetAsync).WithSummary("One project.");
        group.MapPut("/{id:guid}", UpdateAsync).Mutation().WithSummary("Replaces a project's name, brands and domains.");
        group.MapDelete("/{id:guid}", DeleteAsync).Mutation()
            .WithSummary("Deletes a project and its prompts; past analyses are kept.");
        group.MapGet("/{id:guid}/budget", GetBudgetAsync)
            .WithSummary("The project's budget for one UTC day (day=yyyy-MM-dd, today when absent): limit, spent, reserved, paused.")
            .Produces<BudgetView>().ProducesValidationProblem();
        group.MapPut("/{id:guid}/budget", SetBudgetAsync).Mutation()
            .WithSummary("Sets or raises the project's budget in USD for one UTC day (today when day is absent, never a day that has passed); analyses it paused ask their parked platforms.")
            .Produces<BudgetView>().ProducesValidationProblem();
        return endpoints;
    }

    private static async Task<IResult> GetBudgetAsync(Guid id, string? day, SagasDbContext db, BudgetStore budgets, TimeProvider clock, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var date = ReadDay(day, clock, errors, allowPast: true);
        if (errors.Count > 0)
            return Results.ValidationProblem(errors);
        if (!await db.Set<AnalysisProject>().AnyAsync(p => p.Id == id, cancellationToken))
            return NotFound(id);
        var budget = await budgets.FindAsync(BudgetScope.ProjectDay(id, date!.Value), cancellationToken);
        return budget is null
            ? Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No budget",
                detail: $"Project {id} has no budget for {Day(date!.Value)}: its analyses that day are limited only by their runs' budgets.")
            : Results.Ok(BudgetView.From(budget));
    }

    private static async Task<IResult> SetBudgetAsync(Guid id, ProjectBudgetRequest? request, SagasDbContext db, PromptAnalysisRunBudget budgets, TimeProvider clock, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var limit = BudgetLimits.Read(request?.LimitUsd, "limitUsd", required: true, errors);
        var date = ReadDay(request?.Day, clock, errors, allowPast: false);
        if (errors.Count > 0)
            return Results.ValidationProblem(errors, title: "The budget was not changed");
        if (!await db.Set<AnalysisProject>().AnyAsync(p => p.Id == id, cancellationToken))
            return NotFound(id);

        var change = await budgets.SetProjectDayAsync(id, date!.Value, limit!.Value, cancellationToken);
        return Results.Ok(BudgetView.From(change.Budget));
    }

    private static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>A UTC day as yyyy-MM-dd, today when absent; a day that has passed limits nothing, so setting one is refused.</summary>
    private static DateOnly? ReadDay(string? day, TimeProvider clock, Dictionary<string, string[]> errors, bool allowPast)
    {
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        if (string.IsNullOrWhiteSpace(day))
            return today;
        if (!DateOnly.TryParseExact(day.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            errors["day"] = ["day must be a UTC date written yyyy-MM-dd (e.g. 2026-12-05)."];
            return null;
        }

        if (!allowPast && date < today)
        {
            errors["day"] = [$"day is {Day(date)}, which has passed (today is {Day(today)} UTC): a budget for it would limit nothing."];
            return null;
        }

        return date;
    }

    private static async Task<IResult> CreateAsync(ProjectRequest? request, SagasDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!TryValidate(request, out var name, out var brands, out var domains, out var errors))
            return Results.ValidationProblem(errors, title: "The project was not saved");

        var now = clock.GetUtcNow();
        var project = new AnalysisProject { Id = MassTransit.NewId.NextGuid(), Name = name, BrandNames = brands, Domains = domains, CreatedAt = now, UpdatedAt = now };
        db.Add(project);
        await db.SaveChangesAsync(cancellationToken);
        return Results.Created($"/api/projects/{project.Id}", ProjectView.From(project));
    }

    private static async Task<IResult> ListAsync(SagasDbContext db, int? page, int? pageSize, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!Paging.TryCreate(page, pageSize, errors, out var paging))
            return Results.ValidationProblem(errors);

        var query = db.Set<AnalysisProject>().AsNoTracking();
        var total = await query.CountAsync(cancellationToken);
        var projects = await query.OrderBy(p => p.Name).ThenBy(p => p.Id).Skip(paging.Skip).Take(paging.PageSize).ToListAsync(cancellationToken);
        return Results.Ok(new PageOf<ProjectView>([.. projects.Select(ProjectView.From)], paging.Page, paging.PageSize, total));
    }

    private static async Task<IResult> GetAsync(Guid id, SagasDbContext db, CancellationToken cancellationToken)
    {
        var project = await db.Set<AnalysisProject>().AsNoTracking().SingleOrDefaultAsync(p => p.Id == id, cancellationToken);
        return project is null ? NotFound(id) : Results.Ok(ProjectView.From(project));
    }

    private static async Task<IResult> UpdateAsync(Guid id, ProjectRequest? request, SagasDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!TryValidate(request, out var name, out var brands, out var domains, out var errors))
            return Results.ValidationProblem(errors, title: "The project was not saved");

        var project = await db.Set<AnalysisProject>().SingleOrDefaultAsync(p => p.Id == id, cancellationToken);
        if (project is null)
            return NotFound(id);
        project.Name = name;
        project.BrandNames = brands;
        project.Domains = domains;
        project.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return Results.Ok(ProjectView.From(project));
    }

    private static async Task<IResult> DeleteAsync(Guid id, SagasDbContext db, CancellationToken cancellationToken)
    {
        var deleted = await db.Set<AnalysisProject>().Where(p => p.Id == id).ExecuteDeleteAsync(cancellationToken);
        return deleted == 0 ? NotFound(id) : Results.NoContent();
    }

    internal static IResult NotFound(Guid id) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such project", detail: $"There is no project {id}.");

    private static bool TryValidate(ProjectRequest? request, out string name, out List<string> brands, out List<string> domains, out Dictionary<string, string[]> errors)
    {
        errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        name = request?.Name?.Trim() ?? "";
        brands = [];
        domains = [];
        if (request is null)
        {
            errors["body"] = ["A JSON body is required."];
            return false;
        }

        if (name.Length == 0)
            errors["name"] = ["name is required."];
        else if (name.Length > 200)
            errors["name"] = ["name is at most 200 characters."];

        var requestedBrands = request.Brands ?? [];
        if (requestedBrands.Count > MaxEntries)
            errors["brands"] = [$"At most {MaxEntries} brand names."];
        for (var index = 0; index < requestedBrands.Count && index < MaxEntries; index++)
        {
            var brand = requestedBrands[index]?.Trim();
            if (string.IsNullOrEmpty(brand) || brand.Length > 200)
                errors[$"brands[{index}]"] = ["A brand name is 1 to 200 characters."];
            else if (!brands.Contains(brand, StringComparer.OrdinalIgnoreCase))
                brands.Add(brand);
        }

        var requestedDomains = request.Domains ?? [];
        if (requestedDomains.Count > MaxEntries)
            errors["domains"] = [$"At most {MaxEntries} domains."];
        for (var index = 0; index < requestedDomains.Count && index < MaxEntries; index++)
        {
            var domain = CitationNormalizer.NormalizeDomain(requestedDomains[index]);
            if (domain is null || domain.Length > 255 || !domain.Contains('.', StringComparison.Ordinal))
                errors[$"domains[{index}]"] = ["A domain looks like example.com (a URL is accepted; its host is kept)."];
            else if (!domains.Contains(domain, StringComparer.Ordinal))
                domains.Add(domain);
        }

        return errors.Count == 0;
    }
}

/// <summary>Body of <c>PUT /api/projects/{id}/budget</c>; the limit is read from the raw JSON so a wrong value is named in the answer.</summary>
public sealed record ProjectBudgetRequest(JsonElement? LimitUsd, string? Day);
