using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Sagas.Modules.Api;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.PromptAnalyses.Api;

public static class PromptEndpoints
{
    public const int MaxTextLength = 4000;

    public static IEndpointRouteBuilder MapPromptEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/prompts").WithTags("Prompt analyses");
        group.MapPost("/", CreateAsync).Mutation()
            .WithSummary("Tracks a prompt in a project; it is asked of its platforms (default: all four) on every run while active.")
            .Produces<PromptView>(StatusCodes.Status201Created).ProducesValidationProblem();
        group.MapGet("/", ListAsync).WithSummary("Lists prompts, optionally of one project and by active flag.");
        group.MapGet("/{id:guid}", GetAsync).WithSummary("One prompt.");
        group.MapPut("/{id:guid}", UpdateAsync).Mutation().WithSummary("Replaces a prompt's project, text, active flag and platforms.");
        group.MapDelete("/{id:guid}", DeleteAsync).Mutation().WithSummary("Stops tracking a prompt; past analyses are kept.");
        return endpoints;
    }

    private static async Task<IResult> CreateAsync(PromptRequest? request, SagasDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (prompt, errors) = await ValidateAsync(request, db, cancellationToken);
        if (prompt is null)
            return Results.ValidationProblem(errors, title: "The prompt was not saved");

        var now = clock.GetUtcNow();
        prompt.Id = MassTransit.NewId.NextGuid();
        prompt.CreatedAt = now;
        prompt.UpdatedAt = now;
        db.Add(prompt);
        await db.SaveChangesAsync(cancellationToken);
        return Results.Created($"/api/prompts/{prompt.Id}", PromptView.From(prompt));
    }

    private static async Task<IResult> ListAsync(SagasDbContext db, Guid? projectId, bool? active, int? page, int? pageSize, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!Paging.TryCreate(page, pageSize, errors, out var paging))
            return Results.ValidationProblem(errors);

        var query = db.Set<TrackedPrompt>().AsNoTracking();
        if (projectId is { } project)
            query = query.Where(p => p.ProjectId == project);
        if (active is { } isActive)
            query = query.Where(p => p.Active == isActive);
        var total = await query.CountAsync(cancellationToken);
        var prompts = await query.OrderBy(p => p.CreatedAt).ThenBy(p => p.Id).Skip(paging.Skip).Take(paging.PageSize).ToListAsync(cancellationToken);
        return Results.Ok(new PageOf<PromptView>([.. prompts.Select(PromptView.From)], paging.Page, paging.PageSize, total));
    }

    private static async Task<IResult> GetAsync(Guid id, SagasDbContext db, CancellationToken cancellationToken)
    {
        var prompt = await db.Set<TrackedPrompt>().AsNoTracking().SingleOrDefaultAsync(p => p.Id == id, cancellationToken);
        return prompt is null ? NotFound(id) : Results.Ok(PromptView.From(prompt));
    }

    private static async Task<IResult> UpdateAsync(Guid id, PromptRequest? request, SagasDbContext db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (validated, errors) = await ValidateAsync(request, db, cancellationToken);
        if (validated is null)
            return Results.ValidationProblem(errors, title: "The prompt was not saved");

        var prompt = await db.Set<TrackedPrompt>().SingleOrDefaultAsync(p => p.Id == id, cancellationToken);
        if (prompt is null)
            return NotFound(id);
        prompt.ProjectId = validated.ProjectId;
        prompt.Text = validated.Text;
        prompt.Active = validated.Active;
        prompt.Platforms = validated.Platforms;
        prompt.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return Results.Ok(PromptView.From(prompt));
    }

    private static async Task<IResult> DeleteAsync(Guid id, SagasDbContext db, CancellationToken cancellationToken)
    {
        var deleted = await db.Set<TrackedPrompt>().Where(p => p.Id == id).ExecuteDeleteAsync(cancellationToken);
        return deleted == 0 ? NotFound(id) : Results.NoContent();
    }

    internal static IResult NotFound(Guid id) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such prompt", detail: $"There is no prompt {id}.");

    private static async Task<(TrackedPrompt? Prompt, Dictionary<string, string[]> Errors)> ValidateAsync(PromptRequest? request, SagasDbContext db, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request is null)
        {
            errors["body"] = ["A JSON body is required."];
            return (null, errors);
        }

        var text = request.Text?.Trim() ?? "";
        if (text.Length == 0)
            errors["text"] = ["text is required and cannot be blank."];
        else if (text.Length > MaxTextLength)
            errors["text"] = [$"text is at most {MaxTextLength:N0} characters."];

        if (request.ProjectId is not { } projectId)
            errors["projectId"] = ["projectId is required."];
        else if (!await db.Set<AnalysisProject>().AnyAsync(p => p.Id == projectId, cancellationToken))
            errors["projectId"] = [$"There is no project {projectId}."];

        var platforms = new List<string>();
        if (request.Platforms is null)
        {
            platforms.AddRange(PlatformNames.Real);
        }
        else if (request.Platforms.Count == 0)
        {
            errors["platforms"] = [$"platforms needs at least one of: {string.Join(", ", PlatformNames.All)} (omit it for all four)."];
        }
        else
        {
            for (var index = 0; index < request.Platforms.Count; index++)
            {
                var name = PlatformNames.Normalize(request.Platforms[index]);
                if (name is null)
                    errors[$"platforms[{index}]"] = [$"Unknown platform '{Clip(request.Platforms[index])}'; one of: {string.Join(", ", PlatformNames.All)}."];
                else if (!platforms.Contains(name))
                    platforms.Add(name);
            }
        }

        if (errors.Count > 0)
            return (null, errors);
        return (new TrackedPrompt { ProjectId = request.ProjectId!.Value, Text = text, Active = request.Active ?? true, Platforms = platforms }, errors);
    }

    private static string Clip(string? text) => text is null ? "" : text.Length <= 40 ? text : text[..40] + "…";
}
