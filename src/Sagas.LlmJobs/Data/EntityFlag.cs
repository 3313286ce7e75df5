namespace Sagas.LlmJobs.Data;

/// <summary>The latest flag decision per entity; a later decision replaces an earlier one, never the reverse.</summary>
public class EntityFlag
{
    public string EntityType { get; set; } = "";

    public string EntityId { get; set; } = "";

    public bool Flagged { get; set; }

    public string Category { get; set; } = "";

    public double Confidence { get; set; }

    public string Reason { get; set; } = "";

    public Guid JobId { get; set; }

    public string ItemId { get; set; } = "";

    public string Model { get; set; } = "";

    public bool Simulated { get; set; }

    public DateTimeOffset DecidedAt { get; set; }
}
