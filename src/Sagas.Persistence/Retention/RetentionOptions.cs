using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;

namespace Sagas.Persistence.Retention;

/// <summary>Section <c>Retention</c>: how long each kind of finished work is kept and how the deleting is paced.</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>The most rows (or sessions, for blobs) one statement deletes; each batch commits on its own.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 1_000;

    /// <summary>Pause after each full batch, so live work gets the database between batches.</summary>
    [NotNegative]
    public TimeSpan PauseBetweenBatches { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A run stops after this long; what is left is deleted by the next run.</summary>
    [AtLeast(typeof(TimeSpan), "00:00:01")]
    public TimeSpan MaxRunTime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Overrides of the declared rules, by rule name.</summary>
    public Dictionary<string, RetentionRuleSettings> Rules { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary><c>Retention:Rules:{name}</c>: what an operator may change about a declared rule.</summary>
public sealed class RetentionRuleSettings
{
    /// <summary>
    /// Days an item is kept after it ended; absent means the rule's default. Zero is refused rather than read as
    /// "delete at once" or "keep forever": <see cref="Enabled"/> says the latter.
    /// </summary>
    [Range(1, 36_500)]
    public int? Days { get; set; }

    /// <summary>False keeps this kind forever.</summary>
    public bool? Enabled { get; set; }
}
