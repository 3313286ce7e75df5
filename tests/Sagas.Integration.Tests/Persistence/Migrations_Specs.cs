using Microsoft.EntityFrameworkCore;
using Npgsql;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Persistence;

public sealed class When_the_production_schema_is_migrated(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public void Should_have_a_migration_for_every_model_change()
    {
        // Fails when an entity or map changed without `dotnet ef migrations add` (docs/persistence.md).
        using var db = new SagasDbContextDesignTimeFactory().CreateDbContext([]);

        Assert.False(db.Database.HasPendingModelChanges(), "SagasDbContext has model changes without a migration");
    }

    [ServerFact]
    public async Task Should_apply_every_migration_to_an_empty_database()
    {
        var options = PersistenceRegistration.Configure(new DbContextOptionsBuilder<SagasDbContext>(), DatabaseProvider.PostgreSql, database.ConnectionString, SagasWorkflows.Model);
        await using var db = new SagasDbContext((DbContextOptions<SagasDbContext>)options.Options);

        await db.Database.MigrateAsync();

        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var history = new NpgsqlCommand("SELECT count(*) FROM __ef_migrations_history", connection);
        Assert.Equal((long)db.Database.GetMigrations().Count(), await history.ExecuteScalarAsync());
    }
}
