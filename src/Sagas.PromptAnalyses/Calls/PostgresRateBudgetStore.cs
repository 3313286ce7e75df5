using Npgsql;
using NpgsqlTypes;
using Sagas.PromptAnalyses.Data;

namespace Sagas.PromptAnalyses.Calls;

/// <summary>
/// The budget every process sharing the database draws from: one row per platform, each reservation one atomic
/// upsert that hands out the next slot and moves the horizons on. Times come from the database clock, and the caller
/// is told a wait rather than an instant, so clock skew between machines does not matter.
/// </summary>
public sealed class PostgresRateBudgetStore(NpgsqlDataSource dataSource) : IRateBudgetStore
{
    private const string Table = PlatformRateLimitRow.TableName;

    // Under READ COMMITTED the conflicting row is locked and re-read, so concurrent reservations queue on it and each
    // sees the horizons its predecessor wrote.
    private const string ReserveSql = $"""
        INSERT INTO {Table} AS l (platform, request_horizon, token_horizon, paused_until, request_floor_seconds,
                                  request_floor_until, token_floor_seconds, token_floor_until, last_slot)
        VALUES (@platform,
                clock_timestamp() + make_interval(secs => @request_seconds),
                clock_timestamp() + make_interval(secs => @token_seconds * @tokens),
                '-infinity', 0, '-infinity', 0, '-infinity', clock_timestamp())
        ON CONFLICT (platform) DO UPDATE SET
            last_slot = GREATEST(l.request_horizon, l.token_horizon, l.paused_until, clock_timestamp()),
            request_horizon = GREATEST(l.request_horizon, l.token_horizon, l.paused_until, clock_timestamp())
                + make_interval(secs => GREATEST(@request_seconds,
                    CASE WHEN l.request_floor_until > clock_timestamp() THEN l.request_floor_seconds ELSE 0 END)),
            token_horizon = GREATEST(l.request_horizon, l.token_horizon, l.paused_until, clock_timestamp())
                + make_interval(secs => @tokens * GREATEST(@token_seconds,
                    CASE WHEN l.token_floor_until > clock_timestamp() THEN l.token_floor_seconds ELSE 0 END))
        RETURNING GREATEST(EXTRACT(EPOCH FROM (l.last_slot - clock_timestamp())), 0)::double precision
        """;

    // Plain addition: '-infinity' stays '-infinity', and a horizon already in the past cannot hold anyone back.
    private const string DepartedLateSql = $"""
        UPDATE {Table} SET request_horizon = request_horizon + make_interval(secs => @late),
                           token_horizon = token_horizon + make_interval(secs => @late)
        WHERE platform = @platform
        """;

    private const string AdjustSql = $"""
        UPDATE {Table} SET token_horizon = CASE
            WHEN @delta > 0 THEN GREATEST(token_horizon, statement_timestamp()) + make_interval(secs => @token_seconds * @delta)
            ELSE token_horizon + make_interval(secs => @token_seconds * @delta) END
        WHERE platform = @platform
        """;

    private const string ObserveSql = $"""
        UPDATE {Table} SET
            paused_until = CASE WHEN @pause_seconds IS NULL THEN paused_until
                ELSE GREATEST(paused_until, statement_timestamp() + make_interval(secs => @pause_seconds)) END,
            request_floor_seconds = COALESCE(@request_floor, request_floor_seconds),
            request_floor_until = CASE WHEN @request_floor IS NULL THEN request_floor_until
                ELSE statement_timestamp() + make_interval(secs => @request_floor_for) END,
            token_floor_seconds = COALESCE(@token_floor, token_floor_seconds),
            token_floor_until = CASE WHEN @token_floor IS NULL THEN token_floor_until
                ELSE statement_timestamp() + make_interval(secs => @token_floor_for) END
        WHERE platform = @platform
        """;

    public async ValueTask<TimeSpan> ReserveAsync(string platform, PlatformRate rate, long estimatedTokens, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ReserveSql);
        command.Parameters.Add(Text("platform", platform));
        command.Parameters.Add(Number("request_seconds", rate.RequestInterval.TotalSeconds));
        command.Parameters.Add(Number("token_seconds", rate.TokenInterval.TotalSeconds));
        command.Parameters.Add(Number("tokens", Math.Max(0, estimatedTokens)));
        var seconds = (double)(await command.ExecuteScalarAsync(cancellationToken))!;
        return TimeSpan.FromSeconds(seconds);
    }

    public async ValueTask DepartedLateAsync(string platform, TimeSpan lateness, CancellationToken cancellationToken)
    {
        if (lateness <= TimeSpan.Zero)
            return;
        await using var command = dataSource.CreateCommand(DepartedLateSql);
        command.Parameters.Add(Text("platform", platform));
        command.Parameters.Add(Number("late", lateness.TotalSeconds));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask AdjustTokensAsync(string platform, PlatformRate rate, long tokenDelta, CancellationToken cancellationToken)
    {
        if (rate.TokenInterval <= TimeSpan.Zero || tokenDelta == 0)
            return;
        await using var command = dataSource.CreateCommand(AdjustSql);
        command.Parameters.Add(Text("platform", platform));
        command.Parameters.Add(Number("token_seconds", rate.TokenInterval.TotalSeconds));
        command.Parameters.Add(Number("delta", tokenDelta));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask ObserveAsync(string platform, RateBudgetObservation observation, CancellationToken cancellationToken)
    {
        if (observation.IsEmpty)
            return;
        await using var command = dataSource.CreateCommand(ObserveSql);
        command.Parameters.Add(Text("platform", platform));
        command.Parameters.Add(Number("pause_seconds", observation.PauseFor?.TotalSeconds));
        command.Parameters.Add(Number("request_floor", observation.RequestIntervalFloor?.TotalSeconds));
        command.Parameters.Add(Number("request_floor_for", observation.RequestFloorFor.TotalSeconds));
        command.Parameters.Add(Number("token_floor", observation.TokenIntervalFloor?.TotalSeconds));
        command.Parameters.Add(Number("token_floor_for", observation.TokenFloorFor.TotalSeconds));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlParameter Text(string name, string value) => new(name, NpgsqlDbType.Text) { Value = value };

    private static NpgsqlParameter Number(string name, double? value) =>
        new(name, NpgsqlDbType.Double) { Value = value is { } number ? number : DBNull.Value };
}
