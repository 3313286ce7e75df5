using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;

namespace Sagas.Modules.Breakers;

/// <summary>What a call that meets an open breaker does.</summary>
public enum BreakerOpenBehaviour
{
    /// <summary>Waits until the breaker half-opens (and takes a probe, if one is left) or until <c>MaxWait</c>, then is rejected.</summary>
    Wait,

    /// <summary>Is rejected at once; the workflow defers the work.</summary>
    FailFast,
}

/// <summary>
/// Section <c>Breakers</c>: cluster-wide circuit breakers per provider and model. <see cref="Defaults"/> apply to every
/// breaker; <c>Providers:{provider}</c> overrides them for one provider and <c>Providers:{provider}:Models:{model}</c>
/// for one of its models.
/// </summary>
public sealed class BreakerOptions : IValidatableObject
{
    public const string SectionName = "Breakers";

    /// <summary>
    /// On by default. False leaves every call site as it was without breakers: nothing is wrapped, nothing is counted,
    /// and no database table is read or written.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// How often each process reports its outcomes to the database and reads every breaker's state back: the bound on
    /// how late a process learns that a breaker opened elsewhere.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    public BreakerSettings Defaults { get; set; } = new();

    public Dictionary<string, BreakerOverride> Providers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The settings of one breaker: the model's overrides over the provider's over <see cref="Defaults"/>.</summary>
    public BreakerSettings For(string provider, string model)
    {
        if (!Providers.TryGetValue(provider, out var forProvider))
            return Defaults;
        var settings = forProvider.Over(Defaults);
        return forProvider.Models.TryGetValue(model, out var forModel) ? forModel.Over(settings) : settings;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // Every combination an override can produce must be valid, not only each section on its own.
        foreach (var (provider, forProvider) in Providers)
        {
            var settings = forProvider.Over(Defaults);
            foreach (var problem in settings.Problems($"{validationContext.Key(nameof(Providers))}:{provider}"))
                yield return problem;
            foreach (var (model, forModel) in forProvider.Models)
            {
                foreach (var problem in forModel.Over(settings).Problems($"{validationContext.Key(nameof(Providers))}:{provider}:Models:{model}"))
                    yield return problem;
            }
        }
    }
}

/// <summary>The settings of one breaker.</summary>
public sealed record BreakerSettings : IValidatableObject
{
    /// <summary>Failures in a row (across the cluster, within one report interval) that open the breaker; 0 turns this rule off.</summary>
    [NotNegative]
    public int ConsecutiveFailures { get; set; } = 5;

    /// <summary>Share of failed calls in the sampling window that opens the breaker; 0 turns this rule off.</summary>
    [Range(0d, 1d)]
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Calls the sampling window must hold before <see cref="FailureRatio"/> applies.</summary>
    [Positive]
    public int MinimumCalls { get; set; } = 20;

    /// <summary>The window the failure ratio is measured over (a tumbling window: it restarts when it has passed).</summary>
    [Positive]
    public TimeSpan SamplingWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open breaker stays open before it lets probes through.</summary>
    [Positive]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Probe calls the whole cluster sends while half-open; all must succeed to close the breaker.</summary>
    [Range(1, 100)]
    public int ProbeCount { get; set; } = 1;

    /// <summary><c>Wait</c> or <c>FailFast</c>.</summary>
    [EnumName(typeof(BreakerOpenBehaviour))]
    public string OnOpen { get; set; } = nameof(BreakerOpenBehaviour.FailFast);

    /// <summary>With <c>OnOpen=Wait</c>: the longest a call waits for the breaker before it is rejected.</summary>
    [NotNegative]
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(30);

    public BreakerOpenBehaviour Behaviour => ConfiguredName.TryParse<BreakerOpenBehaviour>(OnOpen, out var behaviour) ? behaviour : BreakerOpenBehaviour.FailFast;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ConsecutiveFailures == 0 && FailureRatio == 0)
        {
            yield return new ValidationResult(
                $"{validationContext.Key(nameof(ConsecutiveFailures))} and {validationContext.Key(nameof(FailureRatio))} are both 0, so the breaker could never open; set Breakers:Enabled=false instead.");
        }
    }

    internal IEnumerable<ValidationResult> Problems(string prefix)
    {
        var key = string.IsNullOrEmpty(prefix) ? "" : prefix.TrimEnd(':') + ":";
        if (ConsecutiveFailures is < 0) yield return new ValidationResult($"{key}ConsecutiveFailures is {ConsecutiveFailures}; it must not be negative.");
        if (FailureRatio is < 0 or > 1 || double.IsNaN(FailureRatio)) yield return new ValidationResult($"{key}FailureRatio is {FailureRatio}; it must be between 0 and 1.");
        if (MinimumCalls < 1) yield return new ValidationResult($"{key}MinimumCalls is {MinimumCalls}; it must be a positive number.");
        if (SamplingWindow <= TimeSpan.Zero) yield return new ValidationResult($"{key}SamplingWindow is {SamplingWindow}; it must be longer than zero.");
        if (BreakDuration <= TimeSpan.Zero) yield return new ValidationResult($"{key}BreakDuration is {BreakDuration}; it must be longer than zero.");
        if (ProbeCount is < 1 or > 100) yield return new ValidationResult($"{key}ProbeCount is {ProbeCount}; it must be between 1 and 100.");
        if (!ConfiguredName.TryParse(typeof(BreakerOpenBehaviour), OnOpen, out _)) yield return new ValidationResult($"{key}OnOpen is '{OnOpen}'; it must be Wait or FailFast.");
        if (MaxWait < TimeSpan.Zero) yield return new ValidationResult($"{key}MaxWait is {MaxWait}; it must not be negative.");
        if (ConsecutiveFailures == 0 && FailureRatio == 0) yield return new ValidationResult($"{key}ConsecutiveFailures and {key}FailureRatio are both 0, so the breaker could never open; set Breakers:Enabled=false instead.");
    }
}

/// <summary>Overrides of one provider (and, under <see cref="Models"/>, of its models); an absent value keeps the broader one.</summary>
public sealed class BreakerOverride
{
    public int? ConsecutiveFailures { get; set; }

    public double? FailureRatio { get; set; }

    public int? MinimumCalls { get; set; }

    public TimeSpan? SamplingWindow { get; set; }

    public TimeSpan? BreakDuration { get; set; }

    public int? ProbeCount { get; set; }

    public string? OnOpen { get; set; }

    public TimeSpan? MaxWait { get; set; }

    public Dictionary<string, BreakerOverride> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public BreakerSettings Over(BreakerSettings broader) => broader with
    {
        ConsecutiveFailures = ConsecutiveFailures ?? broader.ConsecutiveFailures,
        FailureRatio = FailureRatio ?? broader.FailureRatio,
        MinimumCalls = MinimumCalls ?? broader.MinimumCalls,
        SamplingWindow = SamplingWindow ?? broader.SamplingWindow,
        BreakDuration = BreakDuration ?? broader.BreakDuration,
        ProbeCount = ProbeCount ?? broader.ProbeCount,
        OnOpen = OnOpen ?? broader.OnOpen,
        MaxWait = MaxWait ?? broader.MaxWait,
    };
}
