using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace Sagas.Modules.Api;

/// <summary>
/// The per-caller budget of state-changing requests, one token bucket per caller shared by every way in: the
/// <c>.Mutation()</c> HTTP routes (through the rate limiting middleware) and the WebSocket's <c>start_scan</c>, so a
/// caller cannot get around the limit by switching from <c>POST /api/scan-sessions</c> to the socket.
/// </summary>
public sealed class MutationRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _buckets;

    public MutationRateLimiter(int perMinute)
    {
        PerMinute = perMinute;
        _buckets = PartitionedRateLimiter.Create<string, string>(caller => RateLimitPartition.GetTokenBucketLimiter(
            caller,
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = perMinute,
                TokensPerPeriod = perMinute,
                ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    public int PerMinute { get; }

    public string RefusalMessage => $"At most {PerMinute} changing requests per minute per caller.";

    /// <summary>Takes one token of the caller's bucket; the lease says whether there was one.</summary>
    public RateLimitLease TryAcquire(string caller) => _buckets.AttemptAcquire(caller);

    /// <summary>The caller's bucket as a limiter for the middleware; disposing the view leaves the bucket alone.</summary>
    public RateLimiter For(string caller) => new CallerView(_buckets, caller);

    /// <summary>The signed-in user's name, else the remote address: the same partition for HTTP and the socket.</summary>
    public static string CallerKey(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.User.Identity?.IsAuthenticated == true && context.User.Identity.Name is { } name
            ? "user:" + name
            : "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }

    public void Dispose() => _buckets.Dispose();

    private sealed class CallerView(PartitionedRateLimiter<string> buckets, string caller) : RateLimiter
    {
        private long _lastUsedTicks = Environment.TickCount64;

        // The middleware drops views idle this long; the bucket itself stays in the shared limiter until it is full.
        public override TimeSpan? IdleDuration => TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref _lastUsedTicks));

        public override RateLimiterStatistics? GetStatistics() => buckets.GetStatistics(caller);

        protected override RateLimitLease AttemptAcquireCore(int permitCount)
        {
            Interlocked.Exchange(ref _lastUsedTicks, Environment.TickCount64);
            return buckets.AttemptAcquire(caller, permitCount);
        }

        protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
        {
            Interlocked.Exchange(ref _lastUsedTicks, Environment.TickCount64);
            return buckets.AcquireAsync(caller, permitCount, cancellationToken);
        }
    }
}
