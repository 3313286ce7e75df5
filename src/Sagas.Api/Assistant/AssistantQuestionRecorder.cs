using System.Globalization;
using System.Collections.Concurrent;
using Sagas.Modules.Assistant;
using Sagas.Modules.Usage;
using Sagas.Persistence;

namespace Sagas.Api.Assistant;

/// <summary>
/// Writes each question's <see cref="AssistantQuestion"/> row beside its answer, never in its way: the insert runs on a
/// scope of its own after the answer is decided and is not awaited by the request, and a failed insert (database away,
/// table missing) is logged and forgotten. Inserts still running when the host stops are waited for, up to the
/// shutdown timeout.
/// </summary>
public sealed class AssistantQuestionRecorder(
    IServiceScopeFactory scopes, AssistantOptions options, TimeProvider clock, ILogger<AssistantQuestionRecorder> logger) : IHostedService
{
    private readonly ConcurrentDictionary<Guid, Task> _writing = new();

    private string Provider => options.Provider.Trim().ToLowerInvariant();

    /// <summary>Starts timing a question as it is accepted.</summary>
    public AssistantQuestionTimer Start(string prompt, bool streamed) => new(this, clock.GetTimestamp(), clock.GetUtcNow(), prompt.Length, streamed);

    internal void Record(AssistantQuestionTimer question, AssistantQuestion row, IReadOnlyList<AssistantTurn> turns)
    {
        row.Id = Guid.CreateVersion7(question.AskedAt);
        row.AskedAt = question.AskedAt;
        row.Provider = Provider;
        row.Streamed = question.Streamed;
        row.PromptCharacters = question.PromptCharacters;
        row.ExecutionTimeMs = (int)Math.Min(int.MaxValue, clock.GetElapsedTime(question.StartedAt).TotalMilliseconds);
        if (row.ErrorMessage is { Length: > 500 } message)
            row.ErrorMessage = message[..500];

        var writing = Task.Run(() => WriteAsync(row, turns));
        _writing[row.Id] = writing;
        writing.ContinueWith(_ => _writing.TryRemove(row.Id, out Task? _), TaskScheduler.Default);
    }

    /// <summary>The question's row and one <c>model_usage</c> row per model turn, in one transaction.</summary>
    private async Task WriteAsync(AssistantQuestion row, IReadOnlyList<AssistantTurn> turns)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
            var usage = scope.ServiceProvider.GetRequiredService<UsageLedger>();
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Add(row);
            await db.SaveChangesAsync();
            await usage.RecordAsync([.. turns.Select((turn, index) => UsageOf(row, turn, index + 1))], CancellationToken.None);
            await transaction.CommitAsync();
            usage.Flush();
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "The assistant question {QuestionId} ({Outcome}) could not be recorded in {Table}; its answer was given regardless", row.Id, row.Outcome, AssistantQuestion.TableName);
        }
    }

    private static ModelCall UsageOf(AssistantQuestion row, AssistantTurn turn, int number) =>
        new($"assistant/{row.Id:N}/{number}", "assistant", row.Provider, turn.Model ?? row.Model, turn.InputTokens, turn.OutputTokens)
        {
            At = row.AskedAt,
            RunId = row.Id,
            ItemId = number.ToString(CultureInfo.InvariantCulture),
            CachedInputTokens = turn.CachedInputTokens,
        };

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.WhenAll(_writing.Values).WaitAsync(cancellationToken);
}

/// <summary>One question from its acceptance to its row; the first outcome recorded is the one kept.</summary>
public sealed class AssistantQuestionTimer
{
    private readonly AssistantQuestionRecorder _recorder;
    private int _recorded;

    internal AssistantQuestionTimer(AssistantQuestionRecorder recorder, long startedAt, DateTimeOffset askedAt, int promptCharacters, bool streamed)
    {
        _recorder = recorder;
        StartedAt = startedAt;
        AskedAt = askedAt;
        PromptCharacters = promptCharacters;
        Streamed = streamed;
    }

    internal long StartedAt { get; }

    internal DateTimeOffset AskedAt { get; }

    internal int PromptCharacters { get; }

    internal bool Streamed { get; }

    public bool Recorded => Volatile.Read(ref _recorded) == 1;

    /// <summary>The model's answer, whole or stopped by a budget.</summary>
    public void Answered(AskResponse answer, AssistantBudget budget) => Record(budget, new AssistantQuestion
    {
        Model = answer.Model,
        Outcome = answer.StoppedBy is null ? AssistantQuestionOutcome.Answered : AssistantQuestionOutcome.Partial,
        StoppedBy = answer.StoppedBy,
        InputTokens = answer.Usage?.InputTokens ?? 0,
        OutputTokens = answer.Usage?.OutputTokens ?? 0,
        Cost = answer.Usage?.CostUsd,
        ToolCalls = answer.ToolCalls.Count,
        Rounds = answer.Rounds,
    });

    /// <summary>No answer: what was spent until then, and why (<paramref name="failure"/> null: not the provider's doing).</summary>
    public void Failed(AssistantBudget budget, string model, AssistantUnavailableException? failure, bool cancelled = false)
    {
        var usage = budget.Usage(model);
        Record(budget, new AssistantQuestion
        {
            Model = model,
            Outcome = cancelled ? AssistantQuestionOutcome.Cancelled
                : failure is { RateLimited: true } ? AssistantQuestionOutcome.RateLimited
                : failure is { Refused: true } ? AssistantQuestionOutcome.Refused
                : AssistantQuestionOutcome.Failed,
            InputTokens = usage.InputTokens,
            OutputTokens = usage.OutputTokens,
            Cost = usage.CostUsd,
            ToolCalls = budget.ToolCallsAnswered,
            Rounds = budget.Conversation.Count(m => m.Role == Microsoft.Extensions.AI.ChatRole.Tool) + 1,
            ErrorMessage = failure?.Message,
        });
    }

    private void Record(AssistantBudget budget, AssistantQuestion row)
    {
        if (Interlocked.Exchange(ref _recorded, 1) == 0)
            _recorder.Record(this, row, budget.Turns);
    }
}
