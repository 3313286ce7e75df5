using System.Diagnostics;
using System.Diagnostics.Metrics;
using Sagas.Core.Telemetry;

namespace Sagas.Modules.Usage.Budgets;

/// <summary>
/// What a call may cost at most, for its reservation: input tokens counted from the request text
/// (<see cref="BudgetOptions.CharsPerToken"/> characters each, rounded up) plus the call's maximum output tokens
/// (<see cref="BudgetOptions.DefaultOutputTokens"/> when it sets none), priced by the <see cref="PriceTable"/>. A model
/// without a token price reserves nothing.
/// </summary>
public sealed class BudgetEstimator(PriceTable prices, BudgetOptions options, TimeProvider clock)
{
    public decimal Estimate(string provider, string model, long requestChars, int? maxOutputTokens = null, bool batch = false, int webSearches = 0)
    {
        var input = (Math.Max(0, requestChars) + options.CharsPerToken - 1) / options.CharsPerToken;
        var output = maxOutputTokens ?? options.DefaultOutputTokens;
        return prices.Quote(provider, model, input, output, webSearches, clock.GetUtcNow(), batch: batch).Cost ?? 0m;
    }
}

/// <summary><c>sagas_budget_refusals_total</c>: reservations a budget refused (each pauses its work), by workflow and scope kind.</summary>
public sealed class BudgetMetrics
{
    private static readonly Counter<long> Refusals = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.budget.refusals", description: "Reservations refused because a budget was reached (the work pauses), by workflow and budget kind.");

    public void Refused(string workflow, BudgetRefusal refusal) =>
        Refusals.Add(1, new TagList { { "workflow", workflow }, { "kind", refusal.Kind } });
}
