using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;

namespace Sagas.LlmJobs;

/// <summary>Section <c>LlmJobs</c> (providers are configured under <c>LlmJobs:Providers</c>).</summary>
public sealed class LlmJobsOptions
{
    public const string SectionName = "LlmJobs";

    /// <summary>Job kinds users may submit, each with the instructions used when a job brings none.</summary>
    [MinLength(1, ErrorMessage = "{0} is empty; configure at least one job kind.")]
    public Dictionary<string, LlmJobKindOptions> Kinds { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["flagging"] = new LlmJobKindOptions
        {
            Instructions =
                "You review one entity at a time and decide whether it must be flagged for human review. " +
                "Flag content that is abusive, fraudulent, unsafe or clearly violates policy. Answer with the flag decision only.",
        },
    };

    /// <summary>Models a job may name besides the provider's default; anything else is refused at submission.</summary>
    public List<string> AllowedModels { get; set; } = ["gpt-6-luna", "gpt-6-sol", "gpt-6.2-sol"];

    [Range(1, 1_000_000)]
    public int MaxItemsPerJob { get; set; } = 50_000;

    /// <summary>Deadline of a job that names none; unfinished items fail as expired when it passes.</summary>
    [Positive]
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromHours(24);

    public LlmJobPollingOptions Polling { get; set; } = new();

    public LlmJobSubmissionOptions Submission { get; set; } = new();
}

public sealed class LlmJobKindOptions
{
    [Required]
    public string Instructions { get; set; } = "";
}

public sealed class LlmJobPollingOptions : IValidatableObject
{
    /// <summary>A job's poll interval when it starts (30 s, the interval of the poller this replaces).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The interval tightens towards this while items keep finishing.</summary>
    public TimeSpan MinInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The interval backs off towards this while nothing changes.</summary>
    public TimeSpan MaxInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Jobs handed to pollers per tick (highest priority first).</summary>
    [Range(1, 100_000)]
    public int MaxJobsPerCycle { get; set; } = 100;

    /// <summary>Items of one job checked per cycle (50, as in the poller this replaces).</summary>
    [Range(1, 1_000_000)]
    public int MaxItemsPerJobPerCycle { get; set; } = 50;

    /// <summary>Status checks in flight at once for one job (20, as in the poller this replaces).</summary>
    [Range(1, 10_000)]
    public int Parallelism { get; set; } = 20;

    /// <summary>How long a poller owns a job; another poller may take it over after this.</summary>
    [Positive]
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MinInterval <= TimeSpan.Zero || Interval < MinInterval || MaxInterval < Interval)
            yield return new ValidationResult($"{validationContext.DisplayName} needs 0 < MinInterval <= Interval <= MaxInterval.");
    }
}

public sealed class LlmJobSubmissionOptions
{
    /// <summary>Items sent to the provider per StartLlmJobItems message; the consumer continues itself with the rest.</summary>
    [Range(1, 100_000)]
    public int SliceSize { get; set; } = 500;

    [Range(1, 10_000)]
    public int Parallelism { get; set; } = 20;

    /// <summary>
    /// How long a delivery of StartLlmJobItems holds the items it is sending to the provider; after this another delivery
    /// may take them over (the first is presumed dead). Longer than a slice can take, retries and Retry-After included.
    /// </summary>
    [Positive]
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromMinutes(10);
}
