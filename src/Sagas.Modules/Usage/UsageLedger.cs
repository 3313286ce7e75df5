using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Sagas.Core.Telemetry;
using Sagas.Modules.Usage.Budgets;
using Sagas.Persistence;

namespace Sagas.Modules.Usage;

/// <summary>One model call as the code that made it reports it; <see cref="UsageLedger"/> prices and stores it.</summary>
/// <param name="IdempotencyKey">Unique per call within the whole table (start it with the workflow's name): a redelivered
/// result with the same key is not counted again.</param>
public sealed record ModelCall(string IdempotencyKey, string Workflow, string Provider, string Model, long InputTokens, long OutputTokens)
{
    /// <summary>When the call was answered; the ledger's clock when not given.</summary>
    public DateTimeOffset? At { get; init; }

    public Guid? RunId { get; init; }

    public string? ItemId { get; init; }

    public Guid? ProjectId { get; init; }

    /// <summary>A part of <see cref="InputTokens"/>, priced at the cached-input rate.</summary>
    public long CachedInputTokens { get; init; }

    public int WebSearches { get; init; }

    public bool Batch { get; init; }

    /// <summary>The provider's own token cost, for prices that use it (Perplexity).</summary>
    public decimal? ProviderTokenCost { get; init; }

    /// <summary>The caller's quote from the same table, when it already priced the call for its own rows: stored as is.</summary>
    public CostQuote? Quote { get; init; }

    /// <summary>With <see cref="Quote"/>: the price row the caller applied, as it names it.</summary>
    public string? PricedAs { get; init; }
}

/// <summary>
/// Writes <c>model_usage</c> rows inside the caller's transaction (the one that stores the result the call produced),
/// with insert-or-ignore on the id derived from the idempotency key: a consumer redelivered after its commit records
/// nothing twice. Each inserted row settles the call's budget reservation in the same transaction (see
/// <see cref="BudgetStore.SettleAsync"/>), so a call's cost reaches its budgets exactly when, and as often as, its row is
/// stored. Metrics are counted by <see cref="Flush"/>, after the caller commits, and only for rows this call inserted.
/// </summary>
public sealed class UsageLedger(SagasDbContext db, PriceTable prices, UsageMetrics metrics, TimeProvider clock, ILogger<UsageLedger> logger)
{
    private readonly List<ModelUsage> _inserted = [];

    /// <summary>The row a call makes: its cost from the price table, or null with the warning logged.</summary>
    public ModelUsage Price(ModelCall call)
    {
        var at = call.At ?? clock.GetUtcNow();
        var quote = call.Quote ?? prices.Quote(call.Provider, call.Model, call.InputTokens, call.OutputTokens, call.WebSearches, at,
            call.ProviderTokenCost, call.Batch, call.CachedInputTokens);
        if (quote.Cost is null && quote.Warning is not null)
            logger.LogWarning("Model call {IdempotencyKey} of {Workflow} stored without a cost: {Warning}", call.IdempotencyKey, call.Workflow, quote.Warning);
        return new ModelUsage
        {
            Id = ModelUsage.IdFor(call.IdempotencyKey),
            IdempotencyKey = Clip(call.IdempotencyKey, 300),
            At = at,
            Day = DateOnly.FromDateTime(at.UtcDateTime),
            Workflow = call.Workflow,
            RunId = call.RunId,
            ItemId = call.ItemId is null ? null : Clip(call.ItemId, 128),
            ProjectId = call.ProjectId,
            Provider = Clip(call.Provider.Trim().ToLowerInvariant(), 32),
            Model = Clip(call.Model, 128),
            InputTokens = Math.Max(0, call.InputTokens),
            OutputTokens = Math.Max(0, call.OutputTokens),
            CachedInputTokens = Math.Clamp(call.CachedInputTokens, 0, Math.Max(0, call.InputTokens)),
            WebSearches = Math.Max(0, call.WebSearches),
            Batch = call.Batch,
            Cost = quote.Cost,
            PriceApplied = (quote.Price?.ToString() ?? call.PricedAs) is { } applied ? Clip(applied, 200) : null,
        };
    }

    /// <summary>Inserts the calls' rows in the context's current transaction; a call already recorded is skipped.</summary>
    /// <returns>The rows inserted now.</returns>
    public async Task<IReadOnlyList<ModelUsage>> RecordAsync(IReadOnlyCollection<ModelCall> calls, CancellationToken cancellationToken)
    {
        if (calls.Count == 0)
            return [];
        var rows = calls.Select(Price).DistinctBy(row => row.Id).ToList();
        // The key comes back rather than the id: SQLite hands a stored Guid back as text.
        var inserted = (await db.InsertIgnoringDuplicatesAsync(rows, row => row.IdempotencyKey, cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var recorded = rows.Where(row => inserted.Contains(row.IdempotencyKey)).ToList();
        await new BudgetStore(db, clock).SettleAsync(recorded, cancellationToken);
        _inserted.AddRange(recorded);
        return recorded;
    }

    /// <summary>Counts the rows recorded since the last flush in the metrics; call it once the transaction committed.</summary>
    public void Flush()
    {
        foreach (var row in _inserted)
            metrics.Count(row);
        _inserted.Clear();
    }

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..max];
}

/// <summary>
/// Tokens and cost of every recorded model call, by provider, model and workflow: <c>sagas_model_tokens_total</c> (with
/// <c>kind</c> input, output or cached) and <c>sagas_model_cost_usd_total</c> on <c>/metrics</c>.
/// </summary>
public sealed class UsageMetrics
{
    private static readonly Counter<long> Tokens = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.model.tokens", unit: "{token}", description: "Tokens of recorded model calls, by kind (input, output, cached: a part of input), provider, model and workflow.");

    private static readonly Counter<double> Cost = SagasTelemetry.Meter.CreateCounter<double>(
        "sagas.model.cost_usd", description: "Cost in USD of recorded model calls under the price table, by provider, model and workflow; unpriced calls add nothing.");

    public void Count(ModelUsage row)
    {
        Tokens.Add(row.InputTokens, Tags(row, "input"));
        Tokens.Add(row.OutputTokens, Tags(row, "output"));
        Tokens.Add(row.CachedInputTokens, Tags(row, "cached"));
        if (row.Cost is { } cost)
            Cost.Add((double)cost, new TagList { { "provider", row.Provider }, { "model", row.Model }, { "workflow", row.Workflow } });
    }

    private static TagList Tags(ModelUsage row, string kind) =>
        new() { { "provider", row.Provider }, { "model", row.Model }, { "kind", kind }, { "workflow", row.Workflow } };
}
