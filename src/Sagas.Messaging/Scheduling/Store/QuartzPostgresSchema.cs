using Microsoft.Extensions.Logging;
using Npgsql;
using Quartz;

namespace Sagas.Messaging.Scheduling.Store;

/// <summary>
/// Creates the tables Quartz's ADO job store needs on PostgreSQL before any scheduler touches them. The DDL is the
/// script embedded in the very Quartz assembly this process runs (every statement a <c>CREATE … IF NOT EXISTS</c>),
/// so the layout always matches what that version of the store reads and validates. Start-ups of several processes
/// are serialized by a PostgreSQL advisory lock; the tables are separate from the EF Core model.
/// </summary>
public static class QuartzPostgresSchema
{
    public const string TablePrefix = "qrtz_";

    private const string ScriptResource = "Quartz.Impl.AdoJobStore.Schema.create_postgres.sql";
    private const string StatementSeparator = "--;;";

    // Any constant shared by all Sagas processes: the lock only has to exclude other schema creators.
    private const long AdvisoryLockKey = 0x5351_5254_5A00_0001;

    public static async Task EnsureCreatedAsync(string connectionString, ILogger logger, CancellationToken cancellationToken)
    {
        var statements = ReadStatements();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);

        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_lock({AdvisoryLockKey})", connection))
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            foreach (var statement in statements)
            {
                await using var command = new NpgsqlCommand(statement, connection, transaction);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            logger.LogInformation("Quartz tables ({Prefix}*) present ({Count} statements checked)", TablePrefix, statements.Count);
        }
        finally
        {
            await using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({AdvisoryLockKey})", connection);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    internal static IReadOnlyList<string> ReadStatements()
    {
        using var stream = typeof(IScheduler).Assembly.GetManifestResourceStream(ScriptResource)
            ?? throw new InvalidOperationException(
                $"The Quartz assembly {typeof(IScheduler).Assembly.GetName().Version} carries no '{ScriptResource}'; " +
                "its PostgreSQL schema must then be created by hand before the scheduler starts.");
        using var reader = new StreamReader(stream);
        var script = reader.ReadToEnd();

        // {0} is the table prefix, {1} the same without a schema qualifier (for index names). Statements are
        // separated by lines reading exactly "--;;" (the header comment mentions that marker inside a sentence).
        var statements = new List<string>();
        var current = new List<string>();
        foreach (var line in script.Replace("{0}", TablePrefix, StringComparison.Ordinal).Replace("{1}", TablePrefix, StringComparison.Ordinal).Split('\n'))
        {
            if (line.Trim() == StatementSeparator)
            {
                AddStatement(statements, current);
                continue;
            }

            if (!line.TrimStart().StartsWith("--", StringComparison.Ordinal))
                current.Add(line);
        }

        AddStatement(statements, current);
        return statements;
    }

    private static void AddStatement(List<string> statements, List<string> lines)
    {
        var statement = string.Join('\n', lines).Trim();
        if (statement.Length > 0)
            statements.Add(statement);
        lines.Clear();
    }
}
