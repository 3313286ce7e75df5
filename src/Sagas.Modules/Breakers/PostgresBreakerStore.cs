using Npgsql;
using NpgsqlTypes;

namespace Sagas.Modules.Breakers;

/// <summary>
/// The breakers every process sharing the database sees: one row per provider and model. Each change is one short
/// READ COMMITTED transaction that locks the row (<c>FOR UPDATE</c>: concurrent reporters queue on it), applies
/// <see cref="BreakerRules"/> and writes the row and the transition, if any. Times are the reporting process's clock:
/// a break of seconds does not notice the milliseconds machines drift apart.
/// </summary>
public sealed class PostgresBreakerStore(NpgsqlDataSource dataSource, TimeProvider clock) : IBreakerStore
{
    private const string Table = ProviderBreakerRow.TableName;
    private const string Transitions = ProviderBreakerTransitionRow.TableName;

    private const string Columns = """
        provider, model, state, consecutive_failures, window_started_at, window_calls, window_failures, total_calls,
        total_failures, opened_at, open_until, half_opened_at, probes_claimed, probes_succeeded, updated_at
        """;

    private const string EnsureSql = $"""
        INSERT INTO {Table} ({Columns})
        VALUES (@provider, @model, 'closed', 0, @now, 0, 0, 0, 0, NULL, NULL, NULL, 0, 0, @now)
        ON CONFLICT (provider, model) DO NOTHING
        """;

    private const string LockSql = $"SELECT {Columns} FROM {Table} WHERE provider = @provider AND model = @model FOR UPDATE";

    private const string UpdateSql = $"""
        UPDATE {Table} SET state = @state, consecutive_failures = @consecutive_failures, window_started_at = @window_started_at,
            window_calls = @window_calls, window_failures = @window_failures, total_calls = @total_calls,
            total_failures = @total_failures, opened_at = @opened_at, open_until = @open_until, half_opened_at = @half_opened_at,
            probes_claimed = @probes_claimed, probes_succeeded = @probes_succeeded, updated_at = @updated_at
        WHERE provider = @provider AND model = @model
        """;

    // The claim itself is one conditional statement: of any number of processes racing for the probes of one
    // half-open breaker, exactly ProbeCount see a row come back.
    private const string ClaimSql = $"""
        UPDATE {Table} SET probes_claimed = probes_claimed + 1, updated_at = @now
        WHERE provider = @provider AND model = @model AND state = 'half_open' AND probes_claimed < @probe_count
        RETURNING {Columns}
        """;

    private const string InsertTransitionSql = $"""
        INSERT INTO {Transitions} (provider, model, from_state, to_state, reason, at)
        VALUES (@provider, @model, @from_state, @to_state, @reason, @at)
        """;

    public async Task<IReadOnlyList<BreakerRecord>> ReportAsync(IReadOnlyList<BreakerReport> reports, Func<BreakerKey, BreakerSettings> settings, CancellationToken cancellationToken)
    {
        foreach (var report in reports)
            await ChangeAsync(report.Key, (record, now) => BreakerRules.Apply(record, report, settings(report.Key), now), cancellationToken);

        var records = await ListAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var result = new List<BreakerRecord>(records.Count);
        foreach (var record in records)
        {
            // Read without a lock; only a breaker that time has moved on is locked and judged again.
            var key = record.Key;
            result.Add(BreakerRules.Advance(record, settings(key), now).Record != record
                ? await ChangeAsync(key, (current, at) => BreakerRules.Advance(current, settings(key), at), cancellationToken)
                : record);
        }

        return result;
    }

    public async Task<(bool Claimed, BreakerRecord Record)> TryClaimProbeAsync(BreakerKey key, BreakerSettings settings, CancellationToken cancellationToken)
    {
        // Lets time half-open the breaker (or free a lapsed probe) first, so the claim below finds it half-open.
        var record = await ChangeAsync(key, (current, now) => BreakerRules.Advance(current, settings, now), cancellationToken);
        if (record.State != BreakerState.HalfOpen || record.ProbesClaimed >= settings.ProbeCount)
            return (false, record);

        await using var command = dataSource.CreateCommand(ClaimSql);
        AddKey(command, key);
        command.Parameters.Add(Time("now", clock.GetUtcNow()));
        command.Parameters.Add(new NpgsqlParameter("probe_count", NpgsqlDbType.Integer) { Value = settings.ProbeCount });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (true, Read(reader)) : (false, record);
    }

    public Task<BreakerRecord> CompleteProbeAsync(BreakerKey key, bool succeeded, BreakerSettings settings, CancellationToken cancellationToken) =>
        ChangeAsync(key, (record, now) => BreakerRules.CompleteProbe(record, succeeded, settings, now), cancellationToken);

    public async Task<BreakerRecord?> ResetAsync(BreakerKey key, CancellationToken cancellationToken)
    {
        var known = (await ListAsync(cancellationToken)).Any(r => r.Key == key);
        return known ? await ChangeAsync(key, (record, now) => BreakerRules.Reset(record, now), cancellationToken) : null;
    }

    public async Task<IReadOnlyList<BreakerRecord>> ListAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM {Table} ORDER BY provider, model");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<BreakerRecord>();
        while (await reader.ReadAsync(cancellationToken))
            records.Add(Read(reader));
        return records;
    }

    public async Task<IReadOnlyList<BreakerTransition>> TransitionsAsync(BreakerKey? key, int limit, CancellationToken cancellationToken)
    {
        var filter = key is null ? "" : "WHERE provider = @provider AND model = @model";
        await using var command = dataSource.CreateCommand(
            $"SELECT provider, model, from_state, to_state, reason, at FROM {Transitions} {filter} ORDER BY at DESC, id DESC LIMIT @limit");
        if (key is { } k)
            AddKey(command, k);
        command.Parameters.Add(new NpgsqlParameter("limit", NpgsqlDbType.Integer) { Value = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var transitions = new List<BreakerTransition>();
        while (await reader.ReadAsync(cancellationToken))
        {
            transitions.Add(new BreakerTransition(
                new BreakerKey(reader.GetString(0), reader.GetString(1)),
                BreakerStateNames.Parse(reader.GetString(2)),
                BreakerStateNames.Parse(reader.GetString(3)),
                reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5)));
        }

        return transitions;
    }

    private async Task<BreakerRecord> ChangeAsync(
        BreakerKey key, Func<BreakerRecord, DateTimeOffset, (BreakerRecord Record, BreakerTransition? Transition)> change, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, cancellationToken);
        var now = clock.GetUtcNow();
        await using (var ensure = new NpgsqlCommand(EnsureSql, connection, transaction))
        {
            AddKey(ensure, key);
            ensure.Parameters.Add(Time("now", now));
            await ensure.ExecuteNonQueryAsync(cancellationToken);
        }

        BreakerRecord current;
        await using (var select = new NpgsqlCommand(LockSql, connection, transaction))
        {
            AddKey(select, key);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            current = Read(reader);
        }

        var (next, transition) = change(current, now);
        if (next != current)
        {
            await using var update = new NpgsqlCommand(UpdateSql, connection, transaction);
            AddKey(update, key);
            update.Parameters.Add(Text("state", next.State.Name()));
            update.Parameters.Add(Long("consecutive_failures", next.ConsecutiveFailures));
            update.Parameters.Add(Time("window_started_at", next.WindowStartedAt));
            update.Parameters.Add(Long("window_calls", next.WindowCalls));
            update.Parameters.Add(Long("window_failures", next.WindowFailures));
            update.Parameters.Add(Long("total_calls", next.TotalCalls));
            update.Parameters.Add(Long("total_failures", next.TotalFailures));
            update.Parameters.Add(Time("opened_at", next.OpenedAt));
            update.Parameters.Add(Time("open_until", next.OpenUntil));
            update.Parameters.Add(Time("half_opened_at", next.HalfOpenedAt));
            update.Parameters.Add(new NpgsqlParameter("probes_claimed", NpgsqlDbType.Integer) { Value = next.ProbesClaimed });
            update.Parameters.Add(new NpgsqlParameter("probes_succeeded", NpgsqlDbType.Integer) { Value = next.ProbesSucceeded });
            update.Parameters.Add(Time("updated_at", next.UpdatedAt));
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        if (transition is not null)
        {
            await using var insert = new NpgsqlCommand(InsertTransitionSql, connection, transaction);
            AddKey(insert, key);
            insert.Parameters.Add(Text("from_state", transition.From.Name()));
            insert.Parameters.Add(Text("to_state", transition.To.Name()));
            insert.Parameters.Add(Text("reason", transition.Reason));
            insert.Parameters.Add(Time("at", transition.At));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        if (transition is not null)
            BreakerMetrics.Transitioned(transition);
        return next;
    }

    private static BreakerRecord Read(NpgsqlDataReader reader) => new()
    {
        Provider = reader.GetString(0),
        Model = reader.GetString(1),
        State = BreakerStateNames.Parse(reader.GetString(2)),
        ConsecutiveFailures = reader.GetInt64(3),
        WindowStartedAt = reader.GetFieldValue<DateTimeOffset>(4),
        WindowCalls = reader.GetInt64(5),
        WindowFailures = reader.GetInt64(6),
        TotalCalls = reader.GetInt64(7),
        TotalFailures = reader.GetInt64(8),
        OpenedAt = reader.IsDBNull(9) ? null : reader.GetFieldValue<DateTimeOffset>(9),
        OpenUntil = reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
        HalfOpenedAt = reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11),
        ProbesClaimed = reader.GetInt32(12),
        ProbesSucceeded = reader.GetInt32(13),
        UpdatedAt = reader.GetFieldValue<DateTimeOffset>(14),
    };

    private static void AddKey(NpgsqlCommand command, BreakerKey key)
    {
        command.Parameters.Add(Text("provider", key.Provider));
        command.Parameters.Add(Text("model", key.Model));
    }

    private static NpgsqlParameter Text(string name, string value) => new(name, NpgsqlDbType.Text) { Value = value };

    private static NpgsqlParameter Long(string name, long value) => new(name, NpgsqlDbType.Bigint) { Value = value };

    private static NpgsqlParameter Time(string name, DateTimeOffset? value) =>
        new(name, NpgsqlDbType.TimestampTz) { Value = value is { } time ? time.ToUniversalTime() : DBNull.Value };
}
