using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Persistence;
using Sagas.Persistence.Retention;

namespace Sagas.Modules.Assistant;

/// <summary>
/// One question put to the assistant and what it cost: outcome, tokens, price, tool calls and time, in the columns the
/// other model calls use (<c>platform_responses</c>). The question's text is not kept: it is the caller's words, may
/// name anything, and the spend does not need it. The assistant runs in the API host, which cannot add to the one
/// database model (the model and its migrations are composed below the hosts), so its table lives here, beside the
/// assistant's tool contracts that every host already references.
/// </summary>
public class AssistantQuestion
{
    public const string TableName = "assistant_questions";

    /// <summary>Sortable by time (version 7), so the newest rows are the highest ids.</summary>
    public Guid Id { get; set; }

    public DateTimeOffset AskedAt { get; set; }

    /// <summary><c>Assistant:Provider</c>, lower case: <c>simulated</c>, <c>openai</c>, <c>anthropic</c>, <c>bedrock</c>.</summary>
    public string Provider { get; set; } = "";

    /// <summary>The model that answered, as the provider named it; the configured model when it never answered.</summary>
    public string Model { get; set; } = "";

    /// <summary>Asked for a server-sent event stream rather than one JSON answer.</summary>
    public bool Streamed { get; set; }

    /// <summary><see cref="AssistantQuestionOutcome"/>.</summary>
    public string Outcome { get; set; } = AssistantQuestionOutcome.Answered;

    /// <summary>With outcome <c>partial</c>: the budget that ended it (<c>rounds</c>, <c>tool_calls</c>, <c>tokens</c>, <c>seconds</c>).</summary>
    public string? StoppedBy { get; set; }

    /// <summary>Tokens the model reported over every turn of the question, failed ones included as far as they reported.</summary>
    public long InputTokens { get; set; }

    public long OutputTokens { get; set; }

    /// <summary>USD under the shared price table (<c>Prices</c>), the sum of its turns; null when a turn's model has no price.</summary>
    public decimal? Cost { get; set; }

    /// <summary>Tool calls that were answered (a result or an error the model was shown).</summary>
    public int ToolCalls { get; set; }

    /// <summary>Model turns: one per round of tool calls, plus the one that answered.</summary>
    public int Rounds { get; set; }

    /// <summary>The question's length in characters, in place of its text.</summary>
    public int PromptCharacters { get; set; }

    public int ExecutionTimeMs { get; set; }

    /// <summary>What the caller was told when the model failed (the provider's status, never its body).</summary>
    public string? ErrorMessage { get; set; }

    /// <summary>The assembly whose entity configuration adds <c>assistant_questions</c> to the database model.</summary>
    public static Assembly ModelAssembly => typeof(AssistantQuestion).Assembly;
}

public static class AssistantQuestionOutcome
{
    /// <summary>The model's own answer.</summary>
    public const string Answered = "answered";

    /// <summary>A budget stopped it first; the caller got what the tools gave so far.</summary>
    public const string Partial = "partial";

    /// <summary>The provider kept answering 429 through its retries.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>The provider answered the call with an error status (400, 401, 403, …).</summary>
    public const string Refused = "refused";

    /// <summary>No answer: the provider was unreachable, cut its answer off, or something else went wrong.</summary>
    public const string Failed = "failed";

    /// <summary>The caller hung up before the answer was complete.</summary>
    public const string Cancelled = "cancelled";
}

internal sealed class AssistantQuestionMapping : IEntityTypeConfiguration<AssistantQuestion>
{
    public void Configure(EntityTypeBuilder<AssistantQuestion> builder)
    {
        builder.ToTable(AssistantQuestion.TableName);
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).ValueGeneratedNever();
        builder.Property(x => x.Provider).HasMaxLength(32);
        builder.Property(x => x.Model).HasMaxLength(128);
        builder.Property(x => x.Outcome).HasMaxLength(16);
        builder.Property(x => x.StoppedBy).HasMaxLength(16);
        builder.Property(x => x.Cost).HasPrecision(18, 8);
        builder.Property(x => x.ErrorMessage).HasMaxLength(500);
        // Retention deletes oldest first; spend is read by period.
        builder.HasIndex(x => x.AskedAt);
    }
}

/// <summary>Rule <c>assistant-questions</c>: rows of questions asked before the period. A question is over when it is recorded.</summary>
public sealed class AssistantQuestionsRetention(SagasDbContext db) : IRetentionRule
{
    public const string Name = "assistant-questions";

    public async Task<RetentionBatchResult> DeleteBatchAsync(RetentionBatch batch, CancellationToken cancellationToken) =>
        RetentionBatchResult.Rows(await db.Set<AssistantQuestion>()
            .Where(q => q.AskedAt < batch.Cutoff)
            .OrderBy(q => q.AskedAt)
            .Take(batch.Size)
            .ExecuteDeleteAsync(cancellationToken));
}

public static class AssistantQuestionRegistration
{
    /// <summary>
    /// Declares the retention of <c>assistant_questions</c>. Every process declares it (the scheduler role, which runs
    /// retention, may be in a worker that has no assistant), which is why the hosting composition calls this rather than the API.
    /// </summary>
    public static IServiceCollection AddAssistantQuestionsRetention(this IServiceCollection services) =>
        services.AddRetentionRule<AssistantQuestionsRetention>(
            AssistantQuestionsRetention.Name, 90, "assistant_questions rows (the spend of each question put to the assistant) older than the period");
}
