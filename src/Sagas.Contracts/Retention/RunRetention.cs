namespace Sagas.Contracts.Retention;

/// <summary>The recurring retention tick: deletes what every declared rule says has expired, in batches.</summary>
public sealed record RunRetention;
