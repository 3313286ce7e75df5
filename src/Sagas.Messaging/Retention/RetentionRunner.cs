using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sagas.Core.Telemetry;
using Sagas.Persistence.Retention;

namespace Sagas.Messaging.Retention;

/// <summary>What one rule deleted in one run.</summary>
public sealed record RetentionRuleOutcome(string Rule, DateTimeOffset Cutoff, long Deleted, int Batches, bool Finished, string? Error);

/// <summary>
/// Runs every declared rule in turn, each in batches: a fresh scope and context per batch, so every batch commits on
/// its own and no lock outlives one short statement; a pause after each full batch; the whole run bounded by
/// <see cref="RetentionOptions.MaxRunTime"/>. A rule that fails is logged and the run goes on with the next one:
/// the next run tries again.
/// </summary>
public sealed class RetentionRunner(
    IServiceScopeFactory scopes,
    IEnumerable<RetentionRuleDeclaration> declarations,
    RetentionOptions options,
    TimeProvider clock,
    ILogger<RetentionRunner> logger)
{
    private static readonly Counter<long> Deleted = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.retention.deleted", unit: "{item}", description: "Rows or blobs deleted by the retention run, by rule.");

    private static readonly Counter<long> Failures = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.retention.failures", unit: "{run}", description: "Retention rules that failed during a run, by rule.");

    private readonly IReadOnlyList<RetentionRuleDeclaration> _declarations = [.. declarations];

    /// <summary>The declared rules, in the order they run.</summary>
    public IReadOnlyList<RetentionRuleDeclaration> Declarations => _declarations;

    public async Task<IReadOnlyList<RetentionRuleOutcome>> RunAsync(CancellationToken cancellationToken)
    {
        foreach (var name in options.Rules.Keys.Where(name => _declarations.All(d => !string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase))))
            logger.LogWarning("Retention:Rules:{Rule} names no declared rule and is ignored; rules: {Rules}", name, string.Join(", ", _declarations.Select(d => d.Name)));

        var started = clock.GetTimestamp();
        var outcomes = new List<RetentionRuleOutcome>();
        foreach (var declaration in _declarations)
        {
            options.Rules.TryGetValue(declaration.Name, out var settings);
            if (settings?.Enabled == false)
                continue;
            if (clock.GetElapsedTime(started) >= options.MaxRunTime)
            {
                logger.LogWarning("Retention run stopped after {Elapsed} (Retention:MaxRunTime) before rule {Rule}; the next run continues", clock.GetElapsedTime(started), declaration.Name);
                break;
            }

            var cutoff = clock.GetUtcNow() - TimeSpan.FromDays(settings?.Days ?? declaration.DefaultDays);
            outcomes.Add(await RunRuleAsync(declaration, cutoff, started, cancellationToken));
        }

        return outcomes;
    }

    private async Task<RetentionRuleOutcome> RunRuleAsync(RetentionRuleDeclaration declaration, DateTimeOffset cutoff, long started, CancellationToken cancellationToken)
    {
        var tag = new KeyValuePair<string, object?>("rule", declaration.Name);
        long deleted = 0;
        var batches = 0;
        try
        {
            while (true)
            {
                RetentionBatchResult result;
                await using (var scope = scopes.CreateAsyncScope())
                {
                    var rule = (IRetentionRule)scope.ServiceProvider.GetRequiredService(declaration.RuleType);
                    result = await rule.DeleteBatchAsync(new RetentionBatch(cutoff, options.BatchSize), cancellationToken);
                }

                batches++;
                deleted += result.Deleted;
                if (result.Deleted > 0)
                    Deleted.Add(result.Deleted, tag);
                if (result.Examined < options.BatchSize)
                    return Finish(declaration, cutoff, deleted, batches, finished: true);
                if (clock.GetElapsedTime(started) >= options.MaxRunTime)
                    return Finish(declaration, cutoff, deleted, batches, finished: false);
                if (options.PauseBetweenBatches > TimeSpan.Zero)
                    await Task.Delay(options.PauseBetweenBatches, clock, cancellationToken);
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Failures.Add(1, tag);
            logger.LogError(exception, "Retention rule {Rule} failed after deleting {Deleted} item(s); the next run tries again", declaration.Name, deleted);
            return new RetentionRuleOutcome(declaration.Name, cutoff, deleted, batches, false, exception.Message);
        }
    }

    private RetentionRuleOutcome Finish(RetentionRuleDeclaration declaration, DateTimeOffset cutoff, long deleted, int batches, bool finished)
    {
        if (deleted > 0 || !finished)
        {
            logger.LogInformation(
                "Retention rule {Rule}: {Deleted} item(s) older than {Cutoff:u} deleted in {Batches} batch(es){Rest}",
                declaration.Name, deleted, cutoff, batches, finished ? "" : "; time is up, the next run continues");
        }

        return new RetentionRuleOutcome(declaration.Name, cutoff, deleted, batches, finished, null);
    }
}
