using Sagas.Contracts.Scheduling;
using Sagas.Messaging.Scheduling.Recurring;
using Sagas.Modules.Api;

namespace Sagas.Api.Schedules;

public static class ScheduleEndpoints
{
    /// <summary>Local when this process runs the scheduler, over the bus otherwise (see docs/scheduling.md).</summary>
    public static IServiceCollection AddScheduleDirectory(this IServiceCollection services)
    {
        services.AddScoped<IScheduleDirectory>(provider =>
            provider.GetService<IRecurringScheduleService>() is { } local
                ? new LocalScheduleDirectory(local)
                : ActivatorUtilities.CreateInstance<RemoteScheduleDirectory>(provider));
        return services;
    }

    public static IEndpointRouteBuilder MapScheduleEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/schedules").WithTags("Schedules");
        group.MapGet("/", ListAsync).WithSummary("The recurring schedules as the scheduler holds them: cron, paused, next and previous fire times.")
            .Produces<IReadOnlyList<RecurringScheduleView>>().ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapPost("/{name}/pause", (string name, IScheduleDirectory schedules, CancellationToken cancellationToken) => SetPausedAsync(name, true, schedules, cancellationToken))
            .Mutation().WithSummary("Stops a recurring schedule firing until resumed; kept across restarts on PostgreSQL.")
            .Produces<RecurringScheduleView>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapPost("/{name}/resume", (string name, IScheduleDirectory schedules, CancellationToken cancellationToken) => SetPausedAsync(name, false, schedules, cancellationToken))
            .Mutation().WithSummary("Lets a paused recurring schedule fire again from its next time.")
            .Produces<RecurringScheduleView>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return endpoints;
    }

    private static async Task<IResult> ListAsync(IScheduleDirectory schedules, CancellationToken cancellationToken)
    {
        try
        {
            return Results.Ok(await schedules.ListAsync(cancellationToken));
        }
        catch (SchedulerUnreachableException exception)
        {
            return Unreachable(exception);
        }
    }

    private static async Task<IResult> SetPausedAsync(string name, bool paused, IScheduleDirectory schedules, CancellationToken cancellationToken)
    {
        try
        {
            var schedule = await schedules.SetPausedAsync(name, paused, cancellationToken);
            return schedule is null
                ? Results.Problem(title: "Unknown schedule", detail: $"No recurring schedule is named '{Clip(name)}'. GET /api/schedules lists them.", statusCode: StatusCodes.Status404NotFound)
                : Results.Ok(schedule);
        }
        catch (SchedulerUnreachableException exception)
        {
            return Unreachable(exception);
        }
    }

    private static IResult Unreachable(SchedulerUnreachableException exception) => Results.Problem(
        title: "No scheduler reachable",
        detail: $"No process with the scheduler role answered within {exception.Waited.TotalSeconds:0.#} s. Schedules live in the " +
            "scheduler processes (Worker:Roles includes 'scheduler'); check that one is running and connected to the broker.",
        statusCode: StatusCodes.Status503ServiceUnavailable);

    private static string Clip(string text) => text.Length <= 100 ? text : text[..100] + "…";
}
