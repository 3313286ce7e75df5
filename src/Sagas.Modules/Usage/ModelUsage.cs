using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sagas.Persistence;
using Sagas.Persistence.Retention;

namespace Sagas.Modules.Usage;

/// <summary>
/// One model call in <c>model_usage</c>: who made it (workflow, run, item, project), on what (provider, model), what it
/// used and what it cost under the <see cref="PriceTable"/> at the time. Totals per run, per project and day and per
/// day are sums over it by the indexed columns; a budget reserving before a call and settling after it sums the same way.
/// </summary>
public class ModelUsage
{
    public const string TableName = "model_usage";

    /// <summary>Derived from <see cref="IdempotencyKey"/>, so a second insert of the same call hits the primary key and is skipped.</summary>
    public Guid Id { get; set; }

    /// <summary>What makes the call unique within its workflow (e.g. the job and item, the response, the question and turn).</summary>
    public string IdempotencyKey { get; set; } = "";

    public DateTimeOffset At { get; set; }

    /// <summary>The UTC date of <see cref="At"/>, stored so totals per day group on a plain indexed column.</summary>
    public DateOnly Day { get; set; }

    /// <summary>The workflow's name (<c>IWorkflowModule.Name</c>) or <c>assistant</c>.</summary>
    public string Workflow { get; set; } = "";

    /// <summary>The run the call belongs to (an LLM job, a prompt-analysis run, an assistant question).</summary>
    public Guid? RunId { get; set; }

    /// <summary>The item within the run, where there is one (an LLM job item id, a prompt analysis id).</summary>
    public string? ItemId { get; set; }

    public Guid? ProjectId { get; set; }

    public string Provider { get; set; } = "";

    public string Model { get; set; } = "";

    /// <summary>All input tokens, <see cref="CachedInputTokens"/> included.</summary>
    public long InputTokens { get; set; }

    public long OutputTokens { get; set; }

    /// <summary>Input tokens the provider served from its prompt cache (a part of <see cref="InputTokens"/>).</summary>
    public long CachedInputTokens { get; set; }

    public int WebSearches { get; set; }

    /// <summary>Sent through a provider's batch API (the batch discount applies).</summary>
    public bool Batch { get; set; }

    /// <summary>USD; null when no price applied (the warning was logged).</summary>
    public decimal? Cost { get; set; }

    /// <summary>The price row applied (<c>provider/model@date</c>), for audit when prices change.</summary>
    public string? PriceApplied { get; set; }

    /// <summary>A version-5-style id from the key: the same call always gets the same id, on every process.</summary>
    public static Guid IdFor(string idempotencyKey)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey));
        var bytes = hash.AsSpan(0, 16).ToArray();
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }
}

internal sealed class ModelUsageMapping : IEntityTypeConfiguration<ModelUsage>
{
    public void Configure(EntityTypeBuilder<ModelUsage> builder)
    {
        builder.ToTable(ModelUsage.TableName);
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).ValueGeneratedNever();
        builder.Property(x => x.IdempotencyKey).HasMaxLength(300);
        builder.Property(x => x.Workflow).HasMaxLength(64);
        builder.Property(x => x.ItemId).HasMaxLength(128);
        builder.Property(x => x.Provider).HasMaxLength(32);
        builder.Property(x => x.Model).HasMaxLength(128);
        builder.Property(x => x.Cost).HasPrecision(18, 8);
        builder.Property(x => x.PriceApplied).HasMaxLength(200);
        builder.HasIndex(x => x.IdempotencyKey).IsUnique();
        // Totals per run (and a run's budget), per project and day (a project's daily budget), per day (the dashboard,
        // and retention, which deletes oldest days first).
        builder.HasIndex(x => x.RunId);
        builder.HasIndex(x => new { x.ProjectId, x.Day });
        builder.HasIndex(x => x.Day);
    }
}

/// <summary>Rule <c>model-usage</c>: rows of calls made on days before the period. Old days are deleted, not rolled up.</summary>
public sealed class ModelUsageRetention(SagasDbContext db) : IRetentionRule
{
    public const string Name = "model-usage";

    public const int DefaultDays = 400;

    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken)
    {
        var cutoff = DateOnly.FromDateTime(batch.Cutoff.UtcDateTime);
        return RetentionBatchResult.Rows(await db.Set<ModelUsage>()
            .Where(u => u.Day < cutoff)
            .OrderBy(u => u.Day)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken));
    }
}
