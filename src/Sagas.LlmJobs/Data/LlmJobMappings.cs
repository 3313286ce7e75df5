using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Sagas.LlmJobs.Data;

internal sealed class LlmJobMapping : IEntityTypeConfiguration<LlmJob>
{
    public void Configure(EntityTypeBuilder<LlmJob> builder)
    {
        builder.ToTable("llm_jobs");
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).ValueGeneratedNever();
        builder.Property(x => x.Kind).HasMaxLength(64);
        builder.Property(x => x.Model).HasMaxLength(128);
        builder.Property(x => x.Status).HasMaxLength(16);
        builder.Property(x => x.Provider).HasMaxLength(32);
        builder.Property(x => x.Priority).HasConversion<int>();
        builder.Property(x => x.Mode).HasConversion<string>().HasMaxLength(16);
        builder.Property(x => x.StopDetail).HasColumnName("stop_reason").HasMaxLength(1000);
        builder.Property(x => x.SubmittedBy).HasMaxLength(200);
        builder.Property(x => x.LastError).HasMaxLength(2000);
        builder.Ignore(x => x.IsActive);
        // The poller's query: active jobs by priority whose poll is due.
        builder.HasIndex(x => new { x.Status, x.NextPollAt });
        builder.HasIndex(x => x.CreatedAt);
        // The run list (/api/runs) by status, newest first.
        builder.HasIndex(x => new { x.Status, x.CreatedAt });
        // Retention walks finished jobs oldest first.
        builder.HasIndex(x => x.FinishedAt);
    }
}

internal sealed class LlmJobItemMapping : IEntityTypeConfiguration<LlmJobItem>
{
    public void Configure(EntityTypeBuilder<LlmJobItem> builder)
    {
        builder.ToTable("llm_job_items");
        builder.HasKey(x => new { x.JobId, x.ItemId });
        builder.Property(x => x.ItemId).HasMaxLength(100);
        builder.Property(x => x.EntityType).HasMaxLength(100);
        builder.Property(x => x.EntityId).HasMaxLength(200);
        builder.Property(x => x.Status).HasMaxLength(16);
        builder.Property(x => x.ProviderTaskId).HasMaxLength(200);
        builder.Property(x => x.ProviderBatchId).HasMaxLength(200);
        builder.Property(x => x.Category).HasMaxLength(200);
        builder.Property(x => x.Error).HasMaxLength(4000);
        builder.Ignore(x => x.IsTerminal);
        builder.HasIndex(x => new { x.JobId, x.Status, x.Sequence });
        builder.HasIndex(x => new { x.JobId, x.ProviderBatchId });
        // Webhooks name a response id only; finding its job must not scan every item.
        builder.HasIndex(x => x.ProviderTaskId);
        builder.HasOne<LlmJob>().WithMany().HasForeignKey(x => x.JobId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class LlmJobBatchMapping : IEntityTypeConfiguration<LlmJobBatch>
{
    public void Configure(EntityTypeBuilder<LlmJobBatch> builder)
    {
        builder.ToTable("llm_job_batches");
        builder.HasKey(x => new { x.JobId, x.BatchId });
        builder.Property(x => x.BatchId).HasMaxLength(200);
        builder.Property(x => x.Status).HasMaxLength(32);
        builder.Property(x => x.InputFileId).HasMaxLength(200);
        builder.Property(x => x.OutputFileId).HasMaxLength(200);
        builder.Property(x => x.ErrorFileId).HasMaxLength(200);
        builder.HasOne<LlmJob>().WithMany().HasForeignKey(x => x.JobId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class EntityFlagMapping : IEntityTypeConfiguration<EntityFlag>
{
    public void Configure(EntityTypeBuilder<EntityFlag> builder)
    {
        builder.ToTable("entity_flags");
        builder.HasKey(x => new { x.EntityType, x.EntityId });
        builder.Property(x => x.EntityType).HasMaxLength(100);
        builder.Property(x => x.EntityId).HasMaxLength(200);
        builder.Property(x => x.Category).HasMaxLength(200);
        builder.Property(x => x.ItemId).HasMaxLength(100);
        builder.Property(x => x.Model).HasMaxLength(128);
    }
}
