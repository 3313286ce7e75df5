using Sagas.Core.Http;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.PromptAnalyses.Calls;

/// <summary>
/// The shared state behind a platform's cluster-wide budget. Permits are reservations: each caller is given the
/// next free slot and waits for it locally, so the store is touched once per permit and never polled.
/// </summary>
public interface IRateBudgetStore
{
    /// <summary>
    /// Reserves the next slot for one request of <paramref name="estimatedTokens"/> tokens and returns how long to wait
    /// for it (zero when it is now).
    /// </summary>
    ValueTask<TimeSpan> ReserveAsync(string platform, PlatformRate rate, long estimatedTokens, CancellationToken cancellationToken);

    /// <summary>
    /// Moves every slot not yet handed out on by <paramref name="lateness"/>, because a request left that much after its
    /// slot: the request a full minute's worth of slots later then still starts a minute after it, whatever the margin.
    /// </summary>
    ValueTask DepartedLateAsync(string platform, TimeSpan lateness, CancellationToken cancellationToken);

    /// <summary>Charges (positive) or refunds (negative) tokens once a call reported what it really used.</summary>
    ValueTask AdjustTokensAsync(string platform, PlatformRate rate, long tokenDelta, CancellationToken cancellationToken);

    /// <summary>Applies what a provider said about the remaining budget (pause, slower spacing for a while).</summary>
    ValueTask ObserveAsync(string platform, RateBudgetObservation observation, CancellationToken cancellationToken);
}

/// <summary>
/// What one provider response means for the shared budget: stop everyone for <see cref="PauseFor"/>, and space requests
/// (tokens) at least <see cref="RequestIntervalFloor"/> (<see cref="TokenIntervalFloor"/>) apart for the given time.
/// </summary>
public sealed record RateBudgetObservation
{
    public TimeSpan? PauseFor { get; init; }

    public TimeSpan? RequestIntervalFloor { get; init; }

    public TimeSpan RequestFloorFor { get; init; }

    public TimeSpan? TokenIntervalFloor { get; init; }

    public TimeSpan TokenFloorFor { get; init; }

    public bool IsEmpty => PauseFor is null && RequestIntervalFloor is null && TokenIntervalFloor is null;

    /// <summary>
    /// Reads a response's rate-limit headers (and, for a failure, its Retry-After): no remaining requests or tokens
    /// pauses until the reset; a remaining budget smaller than the reset time allows at the configured pace slows
    /// the pace until the reset; a 429's Retry-After pauses everyone.
    /// </summary>
    public static RateBudgetObservation From(RateLimitSnapshot snapshot, PlatformError? error)
    {
        var now = snapshot.ObservedAt;
        TimeSpan? pause = null;
        if (error is { Kind: PlatformErrorKind.RateLimited })
            pause = error.RetryAfter ?? snapshot.RetryAfter;

        TimeSpan? requestFloor = null;
        var requestFloorFor = TimeSpan.Zero;
        if (snapshot.RemainingRequests is { } requests && snapshot.RequestsResetAt is { } requestsReset && requestsReset > now)
        {
            var untilReset = requestsReset - now;
            if (requests <= 0)
                pause = Max(pause, untilReset);
            else
            {
                requestFloor = untilReset / requests;
                requestFloorFor = untilReset;
            }
        }

        TimeSpan? tokenFloor = null;
        var tokenFloorFor = TimeSpan.Zero;
        if (snapshot.RemainingTokens is { } tokens && snapshot.TokensResetAt is { } tokensReset && tokensReset > now)
        {
            var untilReset = tokensReset - now;
            if (tokens <= 0)
                pause = Max(pause, untilReset);
            else
            {
                tokenFloor = untilReset / tokens;
                tokenFloorFor = untilReset;
            }
        }

        return new RateBudgetObservation
        {
            PauseFor = pause is { } p && p > TimeSpan.Zero ? p : null,
            RequestIntervalFloor = requestFloor,
            RequestFloorFor = requestFloorFor,
            TokenIntervalFloor = tokenFloor,
            TokenFloorFor = tokenFloorFor,
        };
    }

    private static TimeSpan? Max(TimeSpan? left, TimeSpan right) => left is { } l && l > right ? l : right;
}

/// <summary>
/// One platform's budget as theoretical arrival times (GCRA without burst): the next request may start at the latest
/// of the request and token horizons and any pause. The in-memory store uses this; the PostgreSQL store runs the same
/// arithmetic in one SQL statement.
/// </summary>
public sealed class RateBudgetState
{
    public DateTimeOffset RequestHorizon { get; private set; } = DateTimeOffset.MinValue;

    public DateTimeOffset TokenHorizon { get; private set; } = DateTimeOffset.MinValue;

    public DateTimeOffset PausedUntil { get; private set; } = DateTimeOffset.MinValue;

    public TimeSpan RequestFloor { get; private set; }

    public DateTimeOffset RequestFloorUntil { get; private set; } = DateTimeOffset.MinValue;

    public TimeSpan TokenFloor { get; private set; }

    public DateTimeOffset TokenFloorUntil { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>Takes the next slot and returns it.</summary>
    public DateTimeOffset Reserve(PlatformRate rate, long estimatedTokens, DateTimeOffset now)
    {
        var slot = Latest(Latest(RequestHorizon, TokenHorizon), Latest(PausedUntil, now));
        var requestInterval = now < RequestFloorUntil && RequestFloor > rate.RequestInterval ? RequestFloor : rate.RequestInterval;
        var tokenInterval = now < TokenFloorUntil && TokenFloor > rate.TokenInterval ? TokenFloor : rate.TokenInterval;
        RequestHorizon = slot + requestInterval;
        TokenHorizon = slot + tokenInterval * Math.Max(0, estimatedTokens);
        return slot;
    }

    /// <summary>
    /// A request left <paramref name="lateness"/> after its slot. Both horizons move on by it, so that every later slot
    /// keeps its full spacing from that request's real departure rather than from its slot. An idle budget (horizons in
    /// the past) is unaffected: the next slot is "now", which is already after the late departure.
    /// </summary>
    public void DepartedLate(TimeSpan lateness)
    {
        if (lateness <= TimeSpan.Zero)
            return;
        RequestHorizon += lateness;
        TokenHorizon += lateness;
    }

    public void AdjustTokens(PlatformRate rate, long tokenDelta, DateTimeOffset now)
    {
        if (rate.TokenInterval <= TimeSpan.Zero || tokenDelta == 0)
            return;
        TokenHorizon = tokenDelta > 0
            ? Latest(TokenHorizon, now) + rate.TokenInterval * tokenDelta
            : TokenHorizon + rate.TokenInterval * tokenDelta;
    }

    public void Observe(RateBudgetObservation observation, DateTimeOffset now)
    {
        if (observation.PauseFor is { } pause)
            PausedUntil = Latest(PausedUntil, now + pause);
        if (observation.RequestIntervalFloor is { } requestFloor)
        {
            RequestFloor = requestFloor;
            RequestFloorUntil = now + observation.RequestFloorFor;
        }

        if (observation.TokenIntervalFloor is { } tokenFloor)
        {
            TokenFloor = tokenFloor;
            TokenFloorUntil = now + observation.TokenFloorFor;
        }
    }

    private static DateTimeOffset Latest(DateTimeOffset left, DateTimeOffset right) => left > right ? left : right;
}

/// <summary>The budget of one process (SQLite = one process): the same arithmetic as PostgreSQL, under a lock.</summary>
public sealed class InMemoryRateBudgetStore(TimeProvider time) : IRateBudgetStore
{
    private readonly Dictionary<string, RateBudgetState> _states = new(StringComparer.Ordinal);

    public ValueTask<TimeSpan> ReserveAsync(string platform, PlatformRate rate, long estimatedTokens, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        lock (_states)
        {
            var slot = State(platform).Reserve(rate, estimatedTokens, now);
            return ValueTask.FromResult(slot > now ? slot - now : TimeSpan.Zero);
        }
    }

    public ValueTask DepartedLateAsync(string platform, TimeSpan lateness, CancellationToken cancellationToken)
    {
        lock (_states)
            State(platform).DepartedLate(lateness);
        return ValueTask.CompletedTask;
    }

    public ValueTask AdjustTokensAsync(string platform, PlatformRate rate, long tokenDelta, CancellationToken cancellationToken)
    {
        lock (_states)
            State(platform).AdjustTokens(rate, tokenDelta, time.GetUtcNow());
        return ValueTask.CompletedTask;
    }

    public ValueTask ObserveAsync(string platform, RateBudgetObservation observation, CancellationToken cancellationToken)
    {
        lock (_states)
            State(platform).Observe(observation, time.GetUtcNow());
        return ValueTask.CompletedTask;
    }

    private RateBudgetState State(string platform)
    {
        if (!_states.TryGetValue(platform, out var state))
            _states[platform] = state = new RateBudgetState();
        return state;
    }
}
