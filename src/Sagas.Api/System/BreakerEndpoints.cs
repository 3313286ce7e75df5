using Sagas.Modules.Api;
using Sagas.Modules.Breakers;

namespace Sagas.Api.System;

/// <summary>The providers' circuit breakers as the cluster shares them, and an operator's reset (docs/circuit-breakers.md).</summary>
public static class BreakerEndpoints
{
    /// <summary>Stands for "no model" in a route: the provider's own breaker.</summary>
    public const string NoModel = "-";

    private const int TransitionsShown = 50;

    private const int ProviderMaxLength = 64;

    private const int ModelMaxLength = 128;

    public static RouteGroupBuilder MapBreakerEndpoints(this RouteGroupBuilder group)
    {
        group.MapGet("/breakers", ListAsync)
            .WithName("ListProviderBreakers")
            .WithSummary("Every provider and model's circuit breaker: state, counts, opened at, next probe at, and the recent transitions, newest first.")
            .Produces<BreakersView>();
        group.MapPost("/breakers/{provider}/{model}/reset", ResetAsync).Mutation()
            .WithName("ResetProviderBreaker")
            .WithSummary("Closes one breaker at once (model '-' is the provider's own breaker); every process sees it within one report interval.")
            .Produces<BreakerView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    private static async Task<IResult> ListAsync(ProviderBreakers breakers, CancellationToken cancellationToken)
    {
        var records = await breakers.ListAsync(cancellationToken);
        var transitions = await breakers.TransitionsAsync(TransitionsShown, cancellationToken);
        return Results.Ok(new BreakersView(
            breakers.Enabled,
            (int)breakers.ReportInterval.TotalMilliseconds,
            [.. records.Select(r => BreakerView.From(r, breakers.SettingsFor(r.Key)))],
            [.. transitions.Select(BreakerTransitionView.Of)]));
    }

    private static async Task<IResult> ResetAsync(string provider, string model, ProviderBreakers breakers, CancellationToken cancellationToken)
    {
        // A name no breaker could carry (the tables' column lengths, blank, control characters) is bad input, not an unknown breaker.
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        CheckName(errors, nameof(provider), provider, ProviderMaxLength);
        if (model != NoModel)
            CheckName(errors, nameof(model), model, ModelMaxLength);
        if (errors.Count > 0)
            return Results.ValidationProblem(errors);

        var key = new BreakerKey(provider, model == NoModel ? "" : model);
        var record = await breakers.ResetAsync(key, cancellationToken);
        return record is null
            ? Results.Problem(title: "No such breaker", detail: $"No breaker of provider '{provider}' and model '{model}' has been recorded.", statusCode: StatusCodes.Status404NotFound)
            : Results.Ok(BreakerView.From(record, breakers.SettingsFor(key)));
    }

    private static void CheckName(Dictionary<string, string[]> errors, string name, string value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
            errors[name] = [$"The {name} is blank."];
        else if (value.Length > maxLength)
            errors[name] = [$"The {name} is {value.Length} characters long; a breaker's {name} has at most {maxLength}."];
        else if (value.Any(char.IsControl))
            errors[name] = [$"The {name} contains control characters."];
    }
}

/// <param name="ReportIntervalMs">How late a process may learn of another's change: the bound of the cluster's agreement.</param>
public sealed record BreakersView(bool Enabled, int ReportIntervalMs, IReadOnlyList<BreakerView> Breakers, IReadOnlyList<BreakerTransitionView> Transitions);

/// <param name="Model">Empty for the provider's own breaker ('-' in the reset route).</param>
/// <param name="State"><c>closed</c>, <c>open</c> or <c>half_open</c>.</param>
/// <param name="NextProbeAt">While open: when probes may start.</param>
public sealed record BreakerView(
    string Provider,
    string Model,
    string State,
    long ConsecutiveFailures,
    long WindowCalls,
    long WindowFailures,
    long TotalCalls,
    long TotalFailures,
    DateTimeOffset? OpenedAt,
    DateTimeOffset? NextProbeAt,
    int ProbesClaimed,
    int ProbesSucceeded,
    int ProbeCount,
    string OnOpen,
    DateTimeOffset UpdatedAt)
{
    public static BreakerView From(BreakerRecord record, BreakerSettings settings) => new(
        record.Provider,
        record.Model,
        record.State.Name(),
        record.ConsecutiveFailures,
        record.WindowCalls,
        record.WindowFailures,
        record.TotalCalls,
        record.TotalFailures,
        record.OpenedAt,
        record.State == BreakerState.Open ? record.OpenUntil : null,
        record.ProbesClaimed,
        record.ProbesSucceeded,
        settings.ProbeCount,
        settings.Behaviour.ToString(),
        record.UpdatedAt);
}

public sealed record BreakerTransitionView(string Provider, string Model, string From, string To, string Reason, DateTimeOffset At)
{
    public static BreakerTransitionView Of(BreakerTransition transition) =>
        new(transition.Key.Provider, transition.Key.Model, transition.From.Name(), transition.To.Name(), transition.Reason, transition.At);
}
