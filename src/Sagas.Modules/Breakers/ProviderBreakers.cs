using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Sagas.Modules.Breakers;

/// <summary>
/// This process's breakers, one per provider and model, and the loop's one step that reports their counts and takes
/// the cluster's state back (<see cref="ReportAsync"/>). Callers name providers and models; the breaker code names no
/// workflow.
/// </summary>
public sealed class ProviderBreakers
{
    private readonly ConcurrentDictionary<BreakerKey, ProviderBreaker> _breakers = new();
    private readonly BreakerOptions _options;

    public ProviderBreakers(BreakerOptions options, IBreakerStore store, TimeProvider clock)
    {
        _options = options;
        Store = store;
        Clock = clock;
        BreakerMetrics.Watch(this);
    }

    public bool Enabled => _options.Enabled;

    /// <summary>
    /// <paramref name="inner"/> behind its breaker when the breakers are on, <paramref name="inner"/> itself when they are
    /// off: a call site switched off runs exactly as it did before breakers existed.
    /// </summary>
    public T Guard<T>(T inner, Func<T, ProviderBreakers, T> wrap) => Enabled ? wrap(inner, this) : inner;

    public TimeSpan ReportInterval => _options.ReportInterval;

    internal IBreakerStore Store { get; }

    internal TimeProvider Clock { get; }

    /// <summary>The breaker of <paramref name="provider"/>'s <paramref name="model"/> (null or empty: the provider's own).</summary>
    public ProviderBreaker For(string provider, string? model)
    {
        var key = new BreakerKey(provider, model ?? "");
        return _breakers.TryGetValue(key, out var breaker)
            ? breaker
            : _breakers.GetOrAdd(key, k => new ProviderBreaker(k, _options.For(k.Provider, k.Model), this, _options.Enabled));
    }

    public IEnumerable<ProviderBreaker> Known => _breakers.Values;

    public BreakerSettings SettingsFor(BreakerKey key) => _options.For(key.Provider, key.Model);

    public Task<IReadOnlyList<BreakerRecord>> ListAsync(CancellationToken cancellationToken) => Store.ListAsync(cancellationToken);

    public Task<IReadOnlyList<BreakerTransition>> TransitionsAsync(int limit, CancellationToken cancellationToken) => Store.TransitionsAsync(null, limit, cancellationToken);

    /// <summary>Closes a breaker for the whole cluster; null when it was never recorded.</summary>
    public async Task<BreakerRecord?> ResetAsync(BreakerKey key, CancellationToken cancellationToken)
    {
        var record = await Store.ResetAsync(key, cancellationToken);
        if (record is not null && _breakers.TryGetValue(key, out var breaker))
            breaker.Observe(record);
        return record;
    }

    /// <summary>One step of the report loop: every breaker's news to the store, every breaker's state back.</summary>
    public async Task ReportAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
            return;
        var reports = new List<BreakerReport>();
        foreach (var breaker in _breakers.Values)
        {
            if (breaker.TakeReport() is { } report)
                reports.Add(report);
        }

        var records = await Store.ReportAsync(reports, SettingsFor, cancellationToken);
        foreach (var record in records)
        {
            if (_breakers.TryGetValue(record.Key, out var breaker))
                breaker.Observe(record);
        }
    }
}

/// <summary>
/// Runs <see cref="ProviderBreakers.ReportAsync"/> every <c>Breakers:ReportInterval</c>. A failing store (the
/// database is down) leaves every breaker as it last was and loses that interval's counts; the next step tries again.
/// </summary>
public sealed class BreakerReportLoop(ProviderBreakers breakers, TimeProvider clock, ILogger<BreakerReportLoop>? logger = null) : BackgroundService
{
    private readonly ILogger _logger = logger ?? NullLogger<BreakerReportLoop>.Instance;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!breakers.Enabled)
            return;
        using var timer = new PeriodicTimer(breakers.ReportInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await breakers.ReportAsync(stoppingToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    _logger.LogWarning(exception, "Reporting provider breakers failed; their state stays as last read");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
