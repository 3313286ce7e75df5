using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Sagas.LlmJobs.Providers;
using Sagas.LlmJobs.Providers.Simulated;

namespace Sagas.Components.Tests.LlmJobs.Providers;

internal static class Simulated
{
    public static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    public static SimulatedProviderOptions Options(Action<SimulatedProviderOptions>? configure = null)
    {
        var options = new SimulatedProviderOptions
        {
            Seed = 7,
            MinLatency = TimeSpan.FromSeconds(10),
            MaxLatency = TimeSpan.FromSeconds(20),
            FailureRate = 0,
            RateLimitRate = 0,
            Retry = new LlmRetrySettings { MaxRetryAttempts = 0 },
        };
        configure?.Invoke(options);
        return options;
    }

    public static SimulatedLlmJobProvider Provider(TimeProvider time, Action<SimulatedProviderOptions>? configure = null) =>
        new(Options(configure), time, NullLogger<SimulatedLlmJobProvider>.Instance);

    public static LlmItemRequest Item(string id) => new(id, null, "Decide.", "Some text " + id);
}

public sealed class When_the_simulated_provider_runs_an_item
{
    private readonly FakeTimeProvider _time = new(Simulated.Start);

    [Fact]
    public async Task Should_go_from_queued_through_in_progress_to_a_terminal_state_at_its_completion_time()
    {
        var provider = Simulated.Provider(_time);
        var submission = await provider.SubmitItemAsync(Simulated.Item("item-1"), CancellationToken.None);
        var completesAt = provider.CompletionTime("item-1", Simulated.Start);
        Assert.InRange(completesAt - Simulated.Start, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20));

        Assert.Equal(LlmItemStatus.Queued, submission.Status);
        Assert.Equal(LlmItemStatus.Queued, (await provider.GetItemAsync(submission.ProviderTaskId, CancellationToken.None)).Status);

        _time.Advance((completesAt - Simulated.Start) / 2);
        Assert.Equal(LlmItemStatus.InProgress, (await provider.GetItemAsync(submission.ProviderTaskId, CancellationToken.None)).Status);

        _time.Advance(completesAt - _time.GetUtcNow() - TimeSpan.FromTicks(1));
        Assert.Equal(LlmItemStatus.InProgress, (await provider.GetItemAsync(submission.ProviderTaskId, CancellationToken.None)).Status);

        _time.Advance(TimeSpan.FromTicks(1));
        var done = await provider.GetItemAsync(submission.ProviderTaskId, CancellationToken.None);
        Assert.Equal(LlmItemStatus.Succeeded, done.Status);
        Assert.NotNull(done.Decision);
        Assert.Contains("Simulated", done.Decision.Reason, StringComparison.Ordinal);
        Assert.NotNull(done.Usage);
        Assert.True(provider.IsSimulated);
    }

    [Fact]
    public async Task Should_give_the_same_decision_and_completion_time_for_the_same_seed_and_item_in_another_instance()
    {
        var first = Simulated.Provider(_time);
        var second = Simulated.Provider(_time);
        var firstTask = (await first.SubmitItemAsync(Simulated.Item("item-42"), CancellationToken.None)).ProviderTaskId;
        var secondTask = (await second.SubmitItemAsync(Simulated.Item("item-42"), CancellationToken.None)).ProviderTaskId;
        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(first.CompletionTime("item-42", Simulated.Start), second.CompletionTime("item-42", Simulated.Start));

        // Any instance answers for any task id: nothing about the item is stored.
        var fromFirst = await first.GetItemAsync(secondTask, CancellationToken.None);
        var fromSecond = await second.GetItemAsync(firstTask, CancellationToken.None);
        Assert.Equal(fromFirst.Decision, fromSecond.Decision);
    }

    [Fact]
    public void Should_change_decisions_and_times_with_the_seed()
    {
        var seven = Simulated.Provider(_time, o => o.FlaggedRate = 0.5);
        var eight = Simulated.Provider(_time, o => { o.Seed = 8; o.FlaggedRate = 0.5; });
        var ids = Enumerable.Range(0, 50).Select(i => $"item-{i}").ToList();

        var differentTimes = ids.Count(id => seven.CompletionTime(id, Simulated.Start) != eight.CompletionTime(id, Simulated.Start));
        Assert.True(differentTimes > 40, $"Only {differentTimes} of 50 completion times differ between seeds.");
    }

    [Fact]
    public async Task Should_cancel_an_unfinished_item_and_leave_a_finished_one_alone()
    {
        var provider = Simulated.Provider(_time);
        var running = (await provider.SubmitItemAsync(Simulated.Item("item-1"), CancellationToken.None)).ProviderTaskId;

        var cancelled = await provider.CancelItemAsync(running, CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(LlmItemStatus.Cancelled, cancelled.Status);
        Assert.Equal(LlmItemStatus.Cancelled, (await provider.GetItemAsync(running, CancellationToken.None)).Status);

        var finished = (await provider.SubmitItemAsync(Simulated.Item("item-2"), CancellationToken.None)).ProviderTaskId;
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(LlmItemStatus.Succeeded, (await provider.CancelItemAsync(finished, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task Should_refuse_a_task_id_it_did_not_issue()
    {
        var provider = Simulated.Provider(_time);
        var ex = await Assert.ThrowsAsync<LlmProviderException>(() => provider.GetItemAsync("resp_not_simulated", CancellationToken.None));
        Assert.Equal(404, ex.Error.StatusCode);
        Assert.False(ex.IsTransient);
    }
}

public sealed class When_the_simulated_provider_is_configured_with_rates
{
    private const int Items = 10_000;

    [Fact]
    public async Task Should_fail_about_the_configured_share_of_items_permanently()
    {
        var time = new FakeTimeProvider(Simulated.Start);
        var provider = Simulated.Provider(time, o => o.FailureRate = 0.1);
        var tasks = new List<string>(Items);
        for (var i = 0; i < Items; i++)
            tasks.Add((await provider.SubmitItemAsync(Simulated.Item($"item-{i}"), CancellationToken.None)).ProviderTaskId);
        time.Advance(TimeSpan.FromMinutes(1));

        var outcomes = await Task.WhenAll(tasks.Select(t => provider.GetItemAsync(t, CancellationToken.None)));

        var failed = outcomes.Where(o => o.Status == LlmItemStatus.Failed).ToList();
        Assert.InRange(failed.Count, 900, 1100);
        Assert.All(failed, o => Assert.Equal(new LlmProviderError(LlmErrorKind.Permanent, LlmErrorCodes.SimulatedFailure, o.Error!.Message), o.Error));
        Assert.Equal(Items - failed.Count, outcomes.Count(o => o.Status == LlmItemStatus.Succeeded));
    }

    [Fact]
    public async Task Should_answer_about_the_configured_share_of_calls_with_a_transient_429()
    {
        var time = new FakeTimeProvider(Simulated.Start);
        var provider = Simulated.Provider(time, o => { o.RateLimitRate = 0.05; o.RateLimitRetryAfter = TimeSpan.FromSeconds(3); });
        var rateLimited = new List<LlmProviderException>();
        for (var i = 0; i < Items; i++)
        {
            try
            {
                await provider.SubmitItemAsync(Simulated.Item($"item-{i}"), CancellationToken.None);
            }
            catch (LlmProviderException ex)
            {
                rateLimited.Add(ex);
            }
        }

        Assert.InRange(rateLimited.Count, 400, 600);
        Assert.All(rateLimited, ex =>
        {
            Assert.True(ex.IsTransient);
            Assert.Equal(429, ex.Error.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(3), ex.Error.RetryAfter);
        });
        Assert.Equal(TimeSpan.FromSeconds(3), provider.LatestRateLimit.RetryAfter);
    }

    [Fact]
    public async Task Should_flag_about_the_configured_share_of_decisions()
    {
        var time = new FakeTimeProvider(Simulated.Start);
        var provider = Simulated.Provider(time, o => o.FlaggedRate = 0.3);
        var tasks = new List<string>(Items);
        for (var i = 0; i < Items; i++)
            tasks.Add((await provider.SubmitItemAsync(Simulated.Item($"item-{i}"), CancellationToken.None)).ProviderTaskId);
        time.Advance(TimeSpan.FromMinutes(1));

        var decisions = (await Task.WhenAll(tasks.Select(t => provider.GetItemAsync(t, CancellationToken.None)))).Select(o => o.Decision!).ToList();

        Assert.InRange(decisions.Count(d => d.Flagged), 2800, 3200);
        Assert.All(decisions, d => Assert.InRange(d.Confidence, 0, 1));
        Assert.All(decisions.Where(d => !d.Flagged), d => Assert.Equal("none", d.Category));
    }
}

public sealed class When_the_simulated_provider_runs_a_batch
{
    private readonly FakeTimeProvider _time = new(Simulated.Start);

    [Fact]
    public async Task Should_complete_with_one_result_per_item()
    {
        var provider = Simulated.Provider(_time, o => o.FailureRate = 0.2);
        var items = Enumerable.Range(0, 200).Select(i => Simulated.Item($"item-{i}")).ToList();
        var submission = await provider.SubmitBatchAsync(new LlmBatchRequest("job-1", items), CancellationToken.None);

        Assert.Equal(LlmBatchState.Validating, submission.Status.State);
        _time.Advance(TimeSpan.FromSeconds(15));
        var halfway = await provider.GetBatchAsync(submission.BatchId, CancellationToken.None);
        Assert.Equal(LlmBatchState.InProgress, halfway.State);
        Assert.InRange(halfway.RequestCounts.Completed + halfway.RequestCounts.Failed, 1, 199);

        _time.Advance(TimeSpan.FromSeconds(10));
        var done = await provider.GetBatchAsync(submission.BatchId, CancellationToken.None);
        var results = await provider.ReadBatchResultsAsync(done, CancellationToken.None);

        Assert.Equal(LlmBatchState.Completed, done.State);
        Assert.Equal(200, done.RequestCounts.Completed + done.RequestCounts.Failed);
        Assert.Equal(done.RequestCounts.Failed, results.Items.Count(r => r.Status == LlmItemStatus.Failed));
        Assert.Empty(results.MissingItems(items.Select(i => i.ItemId)));
    }

    [Fact]
    public async Task Should_expire_keeping_finished_items_and_failing_the_rest_as_batch_expired()
    {
        var provider = Simulated.Provider(_time, o => o.BatchCompletionWindow = TimeSpan.FromSeconds(15));
        var items = Enumerable.Range(0, 200).Select(i => Simulated.Item($"item-{i}")).ToList();
        var submission = await provider.SubmitBatchAsync(new LlmBatchRequest("job-1", items), CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));

        var status = await provider.GetBatchAsync(submission.BatchId, CancellationToken.None);
        var results = await provider.ReadBatchResultsAsync(status, CancellationToken.None);

        Assert.Equal(LlmBatchState.Expired, status.State);
        var expected = items.Count(i => provider.CompletionTime(i.ItemId, Simulated.Start) <= Simulated.Start.AddSeconds(15));
        Assert.Equal(expected, results.Items.Count(r => r.Status == LlmItemStatus.Succeeded));
        Assert.All(results.Items.Where(r => r.Status == LlmItemStatus.Failed), r => Assert.Equal(LlmErrorCodes.BatchExpired, r.Error!.Code));
        Assert.Equal(200, results.Items.Count);
    }

    [Fact]
    public async Task Should_cancel_failing_the_unfinished_items_as_batch_cancelled()
    {
        var provider = Simulated.Provider(_time);
        var items = Enumerable.Range(0, 100).Select(i => Simulated.Item($"item-{i}")).ToList();
        var submission = await provider.SubmitBatchAsync(new LlmBatchRequest("job-1", items), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(15));

        var cancelled = await provider.CancelBatchAsync(submission.BatchId, CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));
        var results = await provider.ReadBatchResultsAsync(await provider.GetBatchAsync(submission.BatchId, CancellationToken.None), CancellationToken.None);

        Assert.Equal(LlmBatchState.Cancelled, cancelled.State);
        Assert.Equal(cancelled.RequestCounts.Completed, results.Items.Count(r => r.Status == LlmItemStatus.Succeeded));
        Assert.Contains(results.Items, r => r.Error?.Code == LlmErrorCodes.BatchCancelled);
    }

    [Fact]
    public async Task Should_refuse_an_unknown_batch_as_not_found()
    {
        var provider = Simulated.Provider(_time);
        var ex = await Assert.ThrowsAsync<LlmProviderException>(() => provider.GetBatchAsync("simbatch_0_1", CancellationToken.None));
        Assert.Equal(404, ex.Error.StatusCode);
    }
}

public sealed class When_the_simulated_provider_is_polled_concurrently
{
    [Fact]
    public async Task Should_give_every_caller_the_same_answers_as_a_single_caller()
    {
        var time = new FakeTimeProvider(Simulated.Start);
        var provider = Simulated.Provider(time, o => o.FailureRate = 0.1);
        var tasks = new List<string>();
        for (var i = 0; i < 10_000; i++)
            tasks.Add((await provider.SubmitItemAsync(Simulated.Item($"item-{i}"), CancellationToken.None)).ProviderTaskId);
        time.Advance(TimeSpan.FromSeconds(15));

        var sequential = new List<LlmItemOutcome>();
        foreach (var task in tasks)
            sequential.Add(await provider.GetItemAsync(task, CancellationToken.None));
        var concurrent = new LlmItemOutcome[tasks.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, tasks.Count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, token) =>
            concurrent[i] = await provider.GetItemAsync(tasks[i], token));

        Assert.Equal(sequential, concurrent);
        Assert.Contains(sequential, o => o.Status == LlmItemStatus.InProgress);
        Assert.Contains(sequential, o => o.Status == LlmItemStatus.Succeeded);
    }
}
