using System.Globalization;
using System.Text.Json;

namespace Sagas.Modules.Usage.Budgets;

/// <summary>Body of the routes that set a budget. The limit is read from the raw JSON so that a wrong value is named in the answer rather than failing the binding.</summary>
public sealed record SetBudgetRequest(JsonElement? LimitUsd);

/// <summary>A budget as the API and the dashboard show it.</summary>
public sealed record BudgetView(string Id, string Kind, decimal LimitUsd, decimal SpentUsd, decimal ReservedUsd, bool Paused, DateTimeOffset? PausedAt, string? PausedReason)
{
    public static BudgetView From(Budget budget) => new(
        budget.Id, budget.Kind, budget.LimitUsd, budget.Spent, budget.Reserved, budget.IsPaused, budget.PausedAt, budget.PausedReason);
}

public static class BudgetLimits
{
    /// <summary>The highest limit accepted: far above any real run, low enough that sums stay exact in numeric(18,8).</summary>
    public const decimal MaxUsd = 1_000_000m;

    /// <summary>Reads a limit in USD: a JSON number above zero and at most <see cref="MaxUsd"/>, rounded to 8 decimals. Optional when <paramref name="required"/> is false.</summary>
    public static decimal? Read(JsonElement? value, string field, bool required, Dictionary<string, string[]> errors)
    {
        if (value is not { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } element)
        {
            if (required)
                errors[field] = [$"{field} is required: a number of USD above zero (e.g. 2.50)."];
            return null;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetDecimal(out var limit))
        {
            errors[field] = [$"{field} must be a number of USD above zero (e.g. 2.50), not {Describe(element)}."];
            return null;
        }

        if (limit <= 0m)
        {
            errors[field] = [string.Create(CultureInfo.InvariantCulture, $"{field} is {limit}; a budget must be above zero.")];
            return null;
        }

        if (limit > MaxUsd)
        {
            errors[field] = [string.Create(CultureInfo.InvariantCulture, $"{field} is {limit}; at most {MaxUsd:N0} USD is accepted.")];
            return null;
        }

        return Math.Round(limit, 8);
    }

    private static string Describe(JsonElement element)
    {
        var text = element.GetRawText();
        return text.Length <= 40 ? text : text[..40] + "…";
    }
}
