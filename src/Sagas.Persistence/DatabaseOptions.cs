using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;

namespace Sagas.Persistence;

public sealed class DatabaseOptions : IValidatableObject
{
    public const string SectionName = "Database";

    /// <summary>Sqlite (embedded default) or PostgreSql.</summary>
    [EnumName(typeof(DatabaseProvider))]
    public string Provider { get; set; } = nameof(DatabaseProvider.Sqlite);

    /// <summary>
    /// Npgsql connection string for PostgreSql. For Sqlite it may be left empty: the database is then
    /// <c>{DataDirectory}/sagas.db</c>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Folder for the embedded SQLite file and other local state, relative to the content root.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Create or upgrade the schema when the process starts (otherwise run the documented migrate command).</summary>
    public bool MigrateAtStartup { get; set; } = true;

    /// <summary>
    /// How saga instances are protected on PostgreSQL: Pessimistic (row lock, the default) or Optimistic (version
    /// token, retried on conflict). SQLite is always optimistic.
    /// </summary>
    [EnumName(typeof(SagaConcurrencyMode))]
    public string SagaConcurrency { get; set; } = nameof(SagaConcurrencyMode.Pessimistic);

    public SagaConcurrencyMode ParseSagaConcurrency() =>
        ConfiguredName.Parse<SagaConcurrencyMode>(SagaConcurrency, $"{SectionName}:{nameof(SagaConcurrency)}");

    public DatabaseProvider ParseProvider() => ConfiguredName.Parse<DatabaseProvider>(Provider, $"{SectionName}:{nameof(Provider)}");

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ConfiguredName.TryParse<DatabaseProvider>(Provider, out var provider) && provider == DatabaseProvider.PostgreSql
            && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult(
                $"{validationContext.Key(nameof(Provider))} is PostgreSql but {validationContext.Key(nameof(ConnectionString))} is empty. " +
                "Set it, e.g. Host=db;Port=5432;Database=sagas;Username=sagas;Password=...");
        }
    }

    /// <summary>The connection string after defaults, with relative SQLite paths anchored at <paramref name="contentRoot"/>.</summary>
    public string ResolveConnectionString(string contentRoot)
    {
        switch (ParseProvider())
        {
            case DatabaseProvider.PostgreSql:
                // Validated options carry one (Validate).
                return ConnectionString!;

            default:
                if (!string.IsNullOrWhiteSpace(ConnectionString))
                    return ConnectionString;

                var folder = Path.GetFullPath(Path.Combine(contentRoot, DataDirectory));
                Directory.CreateDirectory(folder);
                return $"Data Source={Path.Combine(folder, "sagas.db")}";
        }
    }
}
