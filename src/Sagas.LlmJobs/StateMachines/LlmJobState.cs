using MassTransit;
using Sagas.Contracts.LlmJobs;
using Sagas.LlmJobs.Data;

namespace Sagas.LlmJobs.StateMachines;

/// <summary>
/// The LLM job saga's memory. Deliberately small: items, counters and the job's status live in
/// <see cref="LlmJob"/> and <see cref="LlmJobItem"/>, written by the consumers that do the work.
/// </summary>
public class LlmJobState : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }

    public string CurrentState { get; set; } = null!;

    public int Version { get; set; }

    public int TotalItems { get; set; }

    public LlmJobPriority Priority { get; set; }

    public LlmJobMode Mode { get; set; }

    public DateTimeOffset AcceptedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>Token of the scheduled deadline message; MassTransit drops a deadline whose token does not match.</summary>
    public Guid? DeadlineTokenId { get; set; }

    public LlmJobStopReason? StopReason { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Why the job is paused (its budget was reached); null otherwise.</summary>
    public string? PausedReason { get; set; }
}
