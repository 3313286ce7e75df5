using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sagas.Messaging.SagaRepository;

namespace Sagas.LlmJobs.StateMachines;

internal sealed class LlmJobStateMap : SagaStateMap<LlmJobState>
{
    protected override void ConfigureState(EntityTypeBuilder<LlmJobState> builder)
    {
        builder.ToTable("llm_job_sagas");
        builder.Property(x => x.CurrentState).HasMaxLength(32);
        builder.Property(x => x.Priority).HasConversion<string>().HasMaxLength(16);
        builder.Property(x => x.Mode).HasConversion<string>().HasMaxLength(16);
        builder.Property(x => x.StopReason).HasConversion<string>().HasMaxLength(16);
        builder.Property(x => x.PausedReason).HasMaxLength(1000);
        // Retention finds finished instances by their end.
        builder.HasIndex(x => x.FinishedAt);
    }
}
