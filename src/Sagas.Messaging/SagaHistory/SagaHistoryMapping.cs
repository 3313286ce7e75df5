using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Sagas.Messaging.SagaHistory;

internal sealed class SagaHistoryMapping : IEntityTypeConfiguration<SagaHistoryEntry>
{
    public void Configure(EntityTypeBuilder<SagaHistoryEntry> builder)
    {
        builder.ToTable(SagaHistoryEntry.TableName);
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).ValueGeneratedOnAdd();
        builder.Property(x => x.Saga).HasMaxLength(SagaHistoryEntry.MaxNameLength);
        builder.Property(x => x.Kind).HasMaxLength(16);
        builder.Property(x => x.Event).HasMaxLength(SagaHistoryEntry.MaxNameLength);
        builder.Property(x => x.MessageType).HasMaxLength(SagaHistoryEntry.MaxMessageTypeLength);
        builder.Property(x => x.StateBefore).HasMaxLength(SagaHistoryEntry.MaxNameLength);
        builder.Property(x => x.StateAfter).HasMaxLength(SagaHistoryEntry.MaxNameLength);
        builder.Property(x => x.FaultType).HasMaxLength(SagaHistoryEntry.MaxMessageTypeLength);
        builder.Property(x => x.FaultMessage).HasMaxLength(SagaHistoryEntry.MaxFaultMessageLength);

        // The idempotency key: a message the instance already handled (broker redelivery, our redelivery after
        // minutes, an outbox publishing twice) keeps its message id and lands here again; the second row is refused,
        // and a lost race between two attempts fails the later transaction, whose retry finds the row.
        builder.HasIndex(x => new { x.CorrelationId, x.MessageId, x.Kind, x.Event }).IsUnique();

        // Reading an instance's history in order, and the bound (first N, last M) that deletes from its middle.
        builder.HasIndex(x => new { x.CorrelationId, x.Sequence }).IsUnique();

        // Retention walks instances by their last entry.
        builder.HasIndex(x => x.At);
    }
}
