using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Sagas.PromptAnalyses.Data;

internal sealed class AnalysisProjectMapping : IEntityTypeConfiguration<AnalysisProject>
{
    public void Configure(EntityTypeBuilder<AnalysisProject> builder)
    {
        builder.ToTable("analysis_projects");
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).ValueGeneratedNever();
        builder.Property(x => x.Name).HasMaxLength(200);
        builder.HasIndex(x => x.CreatedAt);
    }
}

internal sealed class TrackedPromptMapping : IEntityTypeConfiguration<TrackedPrompt>
{
    public void Configure(EntityTypeBuilder<TrackedPrompt> builder)
    {
        builder.ToTable("tracked_prompts");
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).ValueGeneratedNever();
        builder.Property(x => x.Text).HasMaxLength(4000);
        builder.HasOne<AnalysisProject>().WithMany().HasForeignKey(x => x.ProjectId).OnDelete(DeleteBehavior.Cascade);
        // The fan-out's keyset: active prompts (of a project) in id order.
        builder.HasIndex(x => new { x.Active, x.Id });
        builder.HasIndex(x => new { x.ProjectId, x.Active, x.Id });
    }
}

internal sealed class AnalysisRunMapping : IEntityTypeConfiguration<AnalysisRun>
{
    public void Configure(EntityTypeBuilder<AnalysisRun> builder)
    {
        builder.ToTable("analysis_runs");
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).ValueGeneratedNever();
        builder.Property(x => x.RunKey).HasMaxLength(200);
        builder.Property(x => x.Trigger).HasMaxLength(16);
        builder.Property(x => x.Scope).HasMaxLength(16);
        builder.Property(x => x.RequestedBy).HasMaxLength(200);
        builder.HasIndex(x => x.RunKey).IsUnique();
        builder.HasIndex(x => x.CreatedAt);
    }
}

internal sealed class AnalysisJobMapping : IEntityTypeConfiguration<AnalysisJob>
{
    public void Configure(EntityTypeBuilder<AnalysisJob> builder)
    {
        builder.ToTable("analysis_jobs");
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).ValueGeneratedNever();
        builder.Property(x => x.Status).HasMaxLength(16);
        builder.Property(x => x.PromptText).HasMaxLength(4000);
        builder.HasOne<AnalysisRun>().WithMany().HasForeignKey(x => x.RunId).OnDelete(DeleteBehavior.Cascade);
        // One analysis per (run, prompt), whatever is redelivered.
        builder.HasIndex(x => new { x.RunId, x.PromptId }).IsUnique();
        // The claim step: pending jobs oldest first, and the running count; the run list by status.
        builder.HasIndex(x => new { x.Status, x.CreatedAt });
        // The run list (/api/runs): newest first, and by project.
        builder.HasIndex(x => x.CreatedAt);
        builder.HasIndex(x => new { x.ProjectId, x.CreatedAt });
    }
}

internal sealed class PlatformResponseMapping : IEntityTypeConfiguration<PlatformResponse>
{
    public void Configure(EntityTypeBuilder<PlatformResponse> builder)
    {
        builder.ToTable("platform_responses");
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).ValueGeneratedNever();
        builder.Property(x => x.Platform).HasMaxLength(32);
        builder.Property(x => x.Model).HasMaxLength(128);
        builder.Property(x => x.PromptText).HasMaxLength(4000);
        builder.Property(x => x.Status).HasMaxLength(16);
        builder.Property(x => x.Cost).HasPrecision(18, 8);
        builder.Property(x => x.ErrorMessage).HasMaxLength(2000);
        builder.HasOne<AnalysisJob>().WithMany().HasForeignKey(x => x.AnalysisJobId).OnDelete(DeleteBehavior.Cascade);
        // One response per (analysis, platform): a redelivered ask finds it.
        builder.HasIndex(x => new { x.AnalysisJobId, x.Platform }).IsUnique();
        builder.HasIndex(x => new { x.PromptId, x.CreatedAt });
    }
}

internal sealed class ResponseCitationMapping : IEntityTypeConfiguration<ResponseCitation>
{
    public void Configure(EntityTypeBuilder<ResponseCitation> builder)
    {
        builder.ToTable("response_citations");
        builder.HasKey(x => new { x.ResponseId, x.Position });
        builder.Property(x => x.Url).HasMaxLength(4096);
        builder.Property(x => x.Domain).HasMaxLength(255);
        builder.Property(x => x.Title).HasMaxLength(1000);
        builder.HasOne<PlatformResponse>().WithMany().HasForeignKey(x => x.ResponseId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(x => x.Domain);
    }
}
