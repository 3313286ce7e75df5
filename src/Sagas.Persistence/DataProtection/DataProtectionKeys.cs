using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Sagas.Persistence.DataProtection;

/// <summary>
/// The data-protection key ring's table, <c>data_protection_keys</c>: part of the one database model (so migrations
/// create it) through <see cref="SagasDataProtection.ModelAssembly"/>.
/// </summary>
internal sealed class DataProtectionKeyMapping : IEntityTypeConfiguration<DataProtectionKey>
{
    public const string TableName = "data_protection_keys";

    public void Configure(EntityTypeBuilder<DataProtectionKey> builder)
    {
        builder.ToTable(TableName);
        builder.HasKey(x => x.Id);
        builder.Property(x => x.FriendlyName).HasMaxLength(200);
    }
}

/// <summary>
/// The context the key ring is read and written through (<c>PersistKeysToDbContext</c> needs one that exposes the
/// keys as a set). It maps that one table of the shared database and nothing else, so it never builds the whole model.
/// </summary>
public sealed class DataProtectionKeyContext(DbContextOptions<DataProtectionKeyContext> options) : DbContext(options), IDataProtectionKeyContext
{
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.ApplyConfiguration(new DataProtectionKeyMapping());
}
