using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;

namespace Sagas.Modules.Usage.Budgets;

/// <summary>Section <c>Budgets</c>: how a call's cost is estimated before it is made, and how long a reservation is held.</summary>
public sealed class BudgetOptions
{
    public const string SectionName = "Budgets";

    /// <summary>
    /// A reservation whose call never recorded a result (the consumer crashed between reserving and recording) is given
    /// back after this. Keep it above the longest a call can take from its reservation to its recorded result.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan ReservationLease { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The estimate counts one input token per this many characters of the request text (instructions and input).</summary>
    [Range(1, 16)]
    public int CharsPerToken { get; set; } = 4;

    /// <summary>Output tokens counted for a call whose request sets no maximum of its own.</summary>
    [Range(1, 1_000_000)]
    public int DefaultOutputTokens { get; set; } = 1_000;
}
