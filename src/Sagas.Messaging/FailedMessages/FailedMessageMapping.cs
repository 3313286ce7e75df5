using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Sagas.Messaging.FailedMessages;

internal sealed class FailedMessageMapping : IEntityTypeConfiguration<FailedMessage>
{
    public void Configure(EntityTypeBuilder<FailedMessage> builder)
    {
        builder.ToTable(FailedMessage.TableName);
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).ValueGeneratedNever();
        builder.Property(x => x.MessageTypes).HasMaxLength(2_000);
        builder.Property(x => x.Queue).HasMaxLength(300);
        builder.Property(x => x.ExceptionType).HasMaxLength(500);
        builder.Property(x => x.ExceptionMessage).HasMaxLength(FailedMessage.MaxExceptionMessageLength);
        builder.Property(x => x.StackTrace).HasMaxLength(FailedMessage.MaxStackTraceLength);
        builder.Property(x => x.ContentType).HasMaxLength(200);

        // The idempotency key: a fault recorded twice for one delivery (the broker redelivered it before the move
        // was acknowledged) or again after a redelivery lands on the same row.
        builder.HasIndex(x => new { x.MessageId, x.Queue }).IsUnique();
        builder.HasIndex(x => x.FaultedAt);
        builder.HasIndex(x => new { x.Queue, x.FaultedAt });
        // Only what still needs attention, in group order: the group list counts it by an index-only scan, takes each
        // group's newest row by a backward step, and a group redelivery pages through it by (faulted_at, id).
        builder.HasIndex(x => new { x.Queue, x.ExceptionType, x.FaultedAt, x.Id })
            .HasDatabaseName("ix_failed_messages_unresolved_group")
            .HasFilter("redelivered_at IS NULL");
    }
}
