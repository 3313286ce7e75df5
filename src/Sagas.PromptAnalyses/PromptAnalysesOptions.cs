using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;

namespace Sagas.PromptAnalyses;

/// <summary>Section <c>PromptAnalyses</c> (platforms and prices live under <c>PromptAnalyses:Platforms</c> and <c>:Prices</c>).</summary>
public sealed class PromptAnalysesOptions
{
    public const string SectionName = "PromptAnalyses";

    /// <summary>Analyses in flight at once across every worker process (5, as the Inngest orchestrator this replaces).</summary>
    [Positive]
    public int MaxConcurrentAnalyses { get; set; } = 5;

    /// <summary>Active prompts read per fan-out page (keyset paging).</summary>
    [Range(1, 10_000)]
    public int FanOutPageSize { get; set; } = 1000;

    /// <summary>Platform calls one worker process runs at once (the cap above bounds the cluster anyway).</summary>
    [Range(1, 1_000)]
    public int PlatformCallConcurrency { get; set; } = 32;

    /// <summary>
    /// How long a delivery of an ask holds the platform's response row while it calls the platform; after this another
    /// delivery may take it over. Longer than one call can take, rate-limit waits and retries included.
    /// </summary>
    [Positive]
    public TimeSpan AskClaimLease { get; set; } = TimeSpan.FromMinutes(15);
}
