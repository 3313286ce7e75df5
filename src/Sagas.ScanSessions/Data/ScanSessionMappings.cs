using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Sagas.ScanSessions.Data;

internal sealed class ScanSessionMapping : IEntityTypeConfiguration<ScanSession>
{
    public void Configure(EntityTypeBuilder<ScanSession> builder)
    {
        builder.ToTable("scan_sessions");
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).ValueGeneratedNever();
        builder.Property(x => x.Status).HasMaxLength(16);
        // Every writer of the row bumps it: a tracked write made from a stale read (the dispatcher's, after a long
        // listing) fails instead of overwriting a cancel.
        builder.Property(x => x.Revision).IsConcurrencyToken();
        builder.Property(x => x.SourceDescription).HasMaxLength(1000);
        builder.Property(x => x.RequestedBy).HasMaxLength(200);
        builder.Property(x => x.ReportBlobKey).HasMaxLength(1024);
        builder.Property(x => x.Error).HasMaxLength(2000);
        builder.HasIndex(x => x.CreatedAt);
        // The list filtered by status, newest first.
        builder.HasIndex(x => new { x.Status, x.CreatedAt });
        // Retention walks finished sessions oldest first.
        builder.HasIndex(x => x.CompletedAt);
    }
}

internal sealed class ScanFileResultMapping : IEntityTypeConfiguration<ScanFileResult>
{
    public void Configure(EntityTypeBuilder<ScanFileResult> builder)
    {
        builder.ToTable("scan_file_results");
        builder.HasKey(x => new { x.SessionId, x.FileIndex });
        builder.Property(x => x.Name).HasMaxLength(1024);
        builder.Property(x => x.Kind).HasMaxLength(16);
        builder.Property(x => x.Locator).HasMaxLength(4096);
        builder.Property(x => x.Link).HasMaxLength(4096);
        builder.Property(x => x.Status).HasMaxLength(16);
        builder.Property(x => x.Error).HasMaxLength(2000);
        builder.HasOne<ScanSession>().WithMany().HasForeignKey(x => x.SessionId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ScanSessionSecretMapping : IEntityTypeConfiguration<ScanSessionSecret>
{
    public void Configure(EntityTypeBuilder<ScanSessionSecret> builder)
    {
        builder.ToTable("scan_session_secrets");
        builder.HasKey(x => x.SessionId);
        builder.Property(x => x.SessionId).ValueGeneratedNever();
        // A Drive access token is a few hundred characters; its protected form about twice that.
        builder.Property(x => x.ProtectedDriveToken).HasMaxLength(8192);
        builder.HasOne<ScanSession>().WithMany().HasForeignKey(x => x.SessionId).OnDelete(DeleteBehavior.Cascade);
    }
}
