namespace Sagas.LlmJobs.Data;

/// <summary>One provider batch (batch mode): up to 50,000 of a job's items travel in it.</summary>
public class LlmJobBatch
{
    public Guid JobId { get; set; }

    public string BatchId { get; set; } = "";

    public string Status { get; set; } = "";

    public int ItemCount { get; set; }

    public string? InputFileId { get; set; }

    public string? OutputFileId { get; set; }

    public string? ErrorFileId { get; set; }

    /// <summary>The output and error files were read and every item of the batch was made terminal.</summary>
    public bool ResultsApplied { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? LastPolledAt { get; set; }
}
