using MassTransit;
using Sagas.ScanSessions.Data;

namespace Sagas.ScanSessions.StateMachines;

/// <summary>
/// The scan session saga's memory: the phase and the outcome. Files and counters live in <see cref="ScanSession"/>
/// and <see cref="ScanFileResult"/>, written by the consumers.
/// </summary>
public class ScanSessionState : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }

    public string CurrentState { get; set; } = null!;

    public int Version { get; set; }

    public int? TotalFiles { get; set; }

    public int? TotalProcessed { get; set; }

    public int? TotalMatches { get; set; }

    public string? ReportBlobKey { get; set; }

    public string? FailureReason { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }
}
