namespace Sagas.Contracts.Diagnostics;

/// <summary>Asks any worker to answer, proving that the bus delivers end to end.</summary>
public sealed record CheckWorker(Guid CorrelationId);

public sealed record WorkerChecked(Guid CorrelationId, string MachineName, string Roles, DateTimeOffset AnsweredAt);
