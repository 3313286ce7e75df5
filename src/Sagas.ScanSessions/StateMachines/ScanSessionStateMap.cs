using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sagas.Messaging.SagaRepository;

namespace Sagas.ScanSessions.StateMachines;

internal sealed class ScanSessionStateMap : SagaStateMap<ScanSessionState>
{
    protected override void ConfigureState(EntityTypeBuilder<ScanSessionState> builder)
    {
        builder.ToTable("scan_session_sagas");
        builder.Property(x => x.CurrentState).HasMaxLength(32);
        builder.Property(x => x.ReportBlobKey).HasMaxLength(1024);
        builder.Property(x => x.FailureReason).HasMaxLength(2000);
        // Retention finds finished instances by their end.
        builder.HasIndex(x => x.FinishedAt);
    }
}
