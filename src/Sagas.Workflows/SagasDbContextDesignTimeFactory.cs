using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Sagas.Persistence;

namespace Sagas.Workflows;

/// <summary>
/// Lets <c>dotnet ef migrations add</c> build the PostgreSQL model of every workflow without starting a host. Adding a
/// migration never connects; <c>dotnet ef database update</c> does, to <c>SAGAS_DESIGN_POSTGRES</c> (an Npgsql connection string).
/// </summary>
public sealed class SagasDbContextDesignTimeFactory : IDesignTimeDbContextFactory<SagasDbContext>
{
    public const string ConnectionStringVariable = "SAGAS_DESIGN_POSTGRES";

    public SagasDbContext CreateDbContext(string[] args)
    {
        var connectionString = Environment.GetEnvironmentVariable(ConnectionStringVariable) is { Length: > 0 } configured
            ? configured
            : "Host=localhost;Database=sagas;Username=sagas";
        var builder = new DbContextOptionsBuilder<SagasDbContext>();
        PersistenceRegistration.Configure(builder, DatabaseProvider.PostgreSql, connectionString, SagasWorkflows.Model);
        return new SagasDbContext(builder.Options);
    }
}
