using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;

namespace Sagas.PromptAnalyses;

/// <summary>Section <c>PromptAnalyses</c> (platforms and prices live under <c>PromptAnalyses:Platforms</c> and <c>:Prices</c>).</summary>
public sealed class PromptAnalysesOptions
{
    public const string SectionName = "PromptAnalyses";

    /// <summary>Analyses in flight at once across every worker process (5, as the Inngest orchestrator this replaces).</summary>
    public int MaxConcurrentAnalyses { get; set; } = 5;

    /// <summary>Active prompts read per fan-out page (keyset paging).</summary>
    public int FanOutPageSize { get; set; } = 1000;

    /// <summary>Platform calls one worker process runs at once (the cap above bounds the cluster anyway).</summary>
    public int PlatformCallConcurrency { get; set; } = 32;

    public static PromptAnalysesOptions Read(IConfiguration configuration)
    {
        var options = new PromptAnalysesOptions();
        try
        {
            configuration.GetSection(SectionName).Bind(options);
        }
        catch (InvalidOperationException exception)
        {
            throw new SagasConfigurationException($"{SectionName}: {exception.Message}");
        }

        var problems = new List<string>();
        if (options.MaxConcurrentAnalyses < 1)
            problems.Add($"{SectionName}:MaxConcurrentAnalyses is {options.MaxConcurrentAnalyses}; it must be at least 1.");
        if (options.FanOutPageSize is < 1 or > 10_000)
            problems.Add($"{SectionName}:FanOutPageSize is {options.FanOutPageSize}; it must be between 1 and 10,000.");
        if (options.PlatformCallConcurrency is < 1 or > 1_000)
            problems.Add($"{SectionName}:PlatformCallConcurrency is {options.PlatformCallConcurrency}; it must be between 1 and 1,000.");
        if (problems.Count > 0)
            throw new SagasConfigurationException(string.Join(" ", problems));
        return options;
    }
}
