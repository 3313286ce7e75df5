using MassTransit;
using Sagas.PromptAnalyses.Data;

namespace Sagas.PromptAnalyses.StateMachines;

/// <summary>
/// The analysis saga's memory: which platforms were asked and which have answered. The response rows and the job's
/// counters live in <see cref="PlatformResponse"/> and <see cref="AnalysisJob"/>, written by the platform workers.
/// </summary>
public class PromptAnalysisState : SagaStateMachineInstance, ISagaVersion
{
    /// <summary>The analysis job id.</summary>
    public Guid CorrelationId { get; set; }

    public string CurrentState { get; set; } = null!;

    public int Version { get; set; }

    public Guid RunId { get; set; }

    public Guid PromptId { get; set; }

    /// <summary>Platforms asked; empty until the start arrives.</summary>
    public List<string> Platforms { get; set; } = [];

    /// <summary>Platforms whose answer was counted, and whether it succeeded: a second answer from one platform is a duplicate.</summary>
    public Dictionary<string, bool> AnsweredPlatforms { get; set; } = new(StringComparer.Ordinal);

    public int TotalPlatforms { get; set; }

    public int SucceededPlatforms { get; set; }

    public int FailedPlatforms { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Platforms whose ask a budget refused, comma-separated; asked again on resume.</summary>
    public string? ParkedPlatforms { get; set; }

    public string? PausedReason { get; set; }

    /// <summary>When a budget of the run was last raised: a pause refused before it is already answered.</summary>
    public DateTimeOffset? ResumedAt { get; set; }
}
