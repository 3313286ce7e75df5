using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.PromptAnalyses;
using Sagas.Messaging.Outbox;
using Sagas.Modules.Usage;
using Sagas.Modules.Usage.Budgets;
using Sagas.Persistence;
using Sagas.PromptAnalyses.Calls;
using Sagas.PromptAnalyses.Platforms;
using Sagas.PromptAnalyses.Platforms.Brands;

namespace Sagas.PromptAnalyses.Data;

/// <summary>What <see cref="PlatformResponseRecorder.ClaimAsync"/> found.</summary>
public enum AskClaimOutcome
{
    /// <summary>This delivery holds the processing row and may call the platform.</summary>
    Claimed,

    /// <summary>The response is already final: nobody calls the platform again.</summary>
    Final,

    /// <summary>Another delivery holds the row and is calling the platform, or its own redelivery will.</summary>
    HeldElsewhere,
}

public readonly record struct AskClaim(AskClaimOutcome Outcome, Guid ResponseId);

/// <summary>
/// Stores platform responses: a <c>processing</c> row before the call (unique per (job, platform)) claimed by one
/// delivery of the ask, then the final row, its citations, the brand flags, the job's counter and
/// <see cref="PromptPlatformAnswered"/> in one transaction. Only the delivery holding the claim calls the platform and
/// makes the row final, so of two deliveries of one ask, in one process or in two, one asks and one counts.
/// </summary>
public sealed class PlatformResponseRecorder(SagasDbContext db, OutboxWriter outbox, UsageLedger usage, PromptAnalysesOptions options, TimeProvider clock)
{
    private const int MaxError = 2000;

    /// <summary>
    /// Gives the claim back without an answer (the platform's breaker is open): the ask sent again later claims it as
    /// its own. A row another delivery took over meanwhile is left alone.
    /// </summary>
    public Task ReleaseAsync(Guid responseId, Guid claim, CancellationToken cancellationToken) =>
        db.Set<PlatformResponse>()
            .Where(r => r.Id == responseId && r.Status == PlatformResponseStatus.Processing && r.ClaimId == claim)
            .ExecuteUpdateAsync(set => set.SetProperty(r => r.ClaimId, (Guid?)null).SetProperty(r => r.ClaimedUntil, (DateTimeOffset?)null), cancellationToken);

    /// <summary>
    /// Claims the processing row of (job, platform) for <paramref name="claim"/> (the ask's message id), creating it if
    /// needed. A row is taken over when nobody holds it, when <paramref name="claim"/> already held it (a redelivery of
    /// the same message after a crash or a database failure) or when its holder's lease ran out; with one conditional
    /// update, so that of two deliveries at once exactly one gets it.
    /// </summary>
    public async Task<AskClaim> ClaimAsync(AnalysisJob job, string platform, Guid claim, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var until = now + options.AskClaimLease;
        var existing = await FindAsync(job.Id, platform, cancellationToken);
        if (existing is null)
        {
            var id = MassTransit.NewId.NextGuid();
            db.Add(new PlatformResponse
            {
                Id = id,
                AnalysisJobId = job.Id,
                PromptId = job.PromptId,
                ProjectId = job.ProjectId,
                Platform = platform,
                PromptText = job.PromptText,
                Status = PlatformResponseStatus.Processing,
                ClaimId = claim,
                ClaimedUntil = until,
                CreatedAt = now,
            });
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return new AskClaim(AskClaimOutcome.Claimed, id);
            }
            catch (DbUpdateException)
            {
                // A concurrent delivery of the same ask inserted it first: it holds the row unless its claim is taken below.
                db.ChangeTracker.Clear();
                existing = await FindAsync(job.Id, platform, cancellationToken);
                if (existing is null)
                    throw;
            }
        }

        if (existing.Value.Status != PlatformResponseStatus.Processing)
            return new AskClaim(AskClaimOutcome.Final, existing.Value.Id);

        var responseId = existing.Value.Id;
        var taken = await db.Set<PlatformResponse>()
            .Where(r => r.Id == responseId && r.Status == PlatformResponseStatus.Processing
                && (r.ClaimId == null || r.ClaimId == claim || r.ClaimedUntil < now))
            .ExecuteUpdateAsync(set => set.SetProperty(r => r.ClaimId, claim).SetProperty(r => r.ClaimedUntil, until), cancellationToken);
        if (taken == 1)
            return new AskClaim(AskClaimOutcome.Claimed, responseId);

        var current = await FindAsync(job.Id, platform, cancellationToken);
        return new AskClaim(current is { Status: PlatformResponseStatus.Processing } ? AskClaimOutcome.HeldElsewhere : AskClaimOutcome.Final, responseId);
    }

    /// <returns>True when this call made the response final; false when the claim had passed to another delivery or the
    /// response was already final.</returns>
    public async Task<bool> CompleteAsync(AnalysisJob job, Guid responseId, string platform, Guid claim, PlatformCallOutcome outcome, CancellationToken cancellationToken)
    {
        var project = await db.Set<AnalysisProject>().AsNoTracking()
            .Where(p => p.Id == job.ProjectId)
            .Select(p => new { p.BrandNames, p.Domains })
            .SingleOrDefaultAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var answer = outcome.Answer;
        var error = outcome.Error;
        var brands = answer is null
            ? null
            : BrandAnalysis.Analyze(answer.Text, answer.Citations, project?.BrandNames ?? [], project?.Domains ?? []);
        var succeeded = answer is not null;
        var metadata = answer is not null
            ? answer.Metadata.ToJson()
            : JsonSerializer.Serialize(new
            {
                error_kind = error?.Kind.ToString(),
                http_status = error?.HttpStatus,
                provider_code = error?.ProviderCode,
                transient = error?.IsTransient,
                retry_after_ms = error?.RetryAfter?.TotalMilliseconds,
            });
        var errorMessage = error?.ToString() is { } text && text.Length > MaxError ? text[..MaxError] : error?.ToString();
        var executionMs = (int)Math.Min(int.MaxValue, (answer?.ExecutionTime ?? error?.ExecutionTime ?? TimeSpan.Zero).TotalMilliseconds);

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var finalised = await db.Set<PlatformResponse>()
            .Where(r => r.Id == responseId && r.Status == PlatformResponseStatus.Processing && r.ClaimId == claim)
            .ExecuteUpdateAsync(set => set
                .SetProperty(r => r.ClaimId, (Guid?)null)
                .SetProperty(r => r.ClaimedUntil, (DateTimeOffset?)null)
                .SetProperty(r => r.Status, succeeded ? PlatformResponseStatus.Success : PlatformResponseStatus.Error)
                .SetProperty(r => r.Model, answer != null ? answer.Model : error != null ? error.Model : null)
                .SetProperty(r => r.ResponseText, answer != null ? answer.Text : null)
                .SetProperty(r => r.InputTokens, answer != null ? answer.InputTokens : null)
                .SetProperty(r => r.OutputTokens, answer != null ? answer.OutputTokens : null)
                .SetProperty(r => r.TotalTokens, answer != null ? answer.TotalTokens : null)
                .SetProperty(r => r.Cost, answer != null ? answer.Cost : null)
                .SetProperty(r => r.ExecutionTimeMs, executionMs)
                .SetProperty(r => r.MetadataJson, metadata)
                .SetProperty(r => r.ErrorMessage, errorMessage)
                .SetProperty(r => r.BrandMentioned, brands != null ? brands.BrandMentioned : null)
                .SetProperty(r => r.DomainCited, brands != null ? brands.DomainCited : null)
                .SetProperty(r => r.Attempts, outcome.Attempts)
                .SetProperty(r => r.CompletedAt, now), cancellationToken);
        if (finalised == 0)
            return false;

        if (answer is not null)
        {
            var projectPositions = brands!.MatchingCitationPositions.ToHashSet();
            foreach (var citation in answer.Citations.DistinctBy(c => c.Position))
            {
                db.Add(new ResponseCitation
                {
                    ResponseId = responseId,
                    Position = citation.Position,
                    Url = Clip(citation.Url, 4096),
                    Domain = Clip(citation.Domain, 255),
                    Title = citation.Title is null ? null : Clip(citation.Title, 1000),
                    IsProjectDomain = projectPositions.Contains(citation.Position),
                });
            }
        }

        if (answer is not null)
            await usage.RecordAsync([UsageOf(job, responseId, answer, now)], cancellationToken);
        else
            await new BudgetStore(db, clock).ReleaseAsync([UsageKey(responseId)], cancellationToken);

        var successes = succeeded ? 1 : 0;
        var failures = succeeded ? 0 : 1;
        await db.Set<AnalysisJob>()
            .Where(j => j.Id == job.Id)
            .ExecuteUpdateAsync(set => set
                .SetProperty(j => j.CompletedPlatforms, j => j.CompletedPlatforms + successes)
                .SetProperty(j => j.FailedPlatforms, j => j.FailedPlatforms + failures), cancellationToken);
        outbox.Add(new PromptPlatformAnswered(job.Id, platform, succeeded));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outbox.Flush();
        usage.Flush();
        return true;
    }

    /// <summary>The answer's row in <c>model_usage</c>, at the cost already stored on the response (same price table).</summary>
    private static ModelCall UsageOf(AnalysisJob job, Guid responseId, PlatformAnswer answer, DateTimeOffset now) =>
        new(UsageKey(responseId), PromptAnalysesModule.WorkflowName, answer.IsSimulated ? PlatformNames.Simulated : answer.Platform, answer.Model,
            answer.InputTokens, answer.OutputTokens)
        {
            At = now,
            RunId = job.RunId,
            ItemId = job.Id.ToString(),
            ProjectId = job.ProjectId,
            CachedInputTokens = answer.CachedInputTokens,
            WebSearches = answer.Metadata.WebSearchCalls,
            Quote = new CostQuote(answer.Cost, null, null),
            PricedAs = answer.Metadata.PriceApplied,
        };

    /// <summary>The key of a response's one model call, in <c>model_usage</c> and in <c>budget_reservations</c>.</summary>
    public static string UsageKey(Guid responseId) => $"prompt-analyses/{responseId:N}";

    private async Task<(Guid Id, string Status)?> FindAsync(Guid jobId, string platform, CancellationToken cancellationToken)
    {
        var row = await db.Set<PlatformResponse>().AsNoTracking()
            .Where(r => r.AnalysisJobId == jobId && r.Platform == platform)
            .Select(r => new { r.Id, r.Status })
            .SingleOrDefaultAsync(cancellationToken);
        return row is null ? null : (row.Id, row.Status);
    }

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..max];
}
