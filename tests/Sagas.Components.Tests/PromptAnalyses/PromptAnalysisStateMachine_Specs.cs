using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Contracts.PromptAnalyses;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.StateMachines;

namespace Sagas.Components.Tests.PromptAnalyses;

public sealed class PromptAnalysisSagaHarness : IAsyncDisposable
{
    public static readonly string[] FourPlatforms = ["openai", "claude", "gemini", "perplexity"];

    private readonly ServiceProvider _provider;

    private PromptAnalysisSagaHarness(ServiceProvider provider, ITestHarness harness)
    {
        _provider = provider;
        Harness = harness;
        Saga = harness.GetSagaStateMachineHarness<PromptAnalysisStateMachine, PromptAnalysisState>();
        Machine = provider.GetRequiredService<PromptAnalysisStateMachine>();
    }

    public ITestHarness Harness { get; }

    public ISagaStateMachineTestHarness<PromptAnalysisStateMachine, PromptAnalysisState> Saga { get; }

    public PromptAnalysisStateMachine Machine { get; }

    public Guid AnalysisId { get; } = NewId.NextGuid();

    public Guid RunId { get; } = NewId.NextGuid();

    public Guid PromptId { get; } = NewId.NextGuid();

    public static async Task<PromptAnalysisSagaHarness> StartAsync()
    {
        var provider = new ServiceCollection()
            .AddMassTransitTestHarness(x =>
            {
                x.AddSagaStateMachine<PromptAnalysisStateMachine, PromptAnalysisState, PromptAnalysisStateDefinition>().InMemoryRepository();
                x.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
            })
            .BuildServiceProvider(validateScopes: true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        return new PromptAnalysisSagaHarness(provider, harness);
    }

    public Task StartAnalysisAsync(params string[] platforms) =>
        DeliverAsync(new StartPromptAnalysis(AnalysisId, RunId, PromptId, platforms.Length == 0 ? FourPlatforms : platforms));

    public Task AnswerAsync(string platform, bool succeeded) => DeliverAsync(new PromptPlatformAnswered(AnalysisId, platform, succeeded));

    public Task CancelAsync() => DeliverAsync(new PromptAnalysisCancelled(AnalysisId, RunId, PromptId, "no longer needed"));

    public async Task<bool> IsInAsync(State state) => await Saga.Exists(AnalysisId, _ => state) is not null;

    public async Task<PromptAnalysisState> InstanceAsync()
    {
        Assert.NotNull(await Saga.Exists(AnalysisId));
        return Saga.Sagas.Contains(AnalysisId)!;
    }

    public async Task<IReadOnlyList<PromptAnalysisFinished>> FinishedAsync()
    {
        await Harness.SettleAsync();
        return [.. Harness.Published.Now<PromptAnalysisFinished>().Select(m => m.Context.Message).Where(m => m.AnalysisId == AnalysisId)];
    }

    public async Task<IReadOnlyList<string>> AskedPlatformsAsync()
    {
        await Harness.SettleAsync();
        return [.. Harness.Published.Now<AskPromptPlatform>().Select(m => m.Context.Message).Where(m => m.AnalysisId == AnalysisId).Select(m => m.Platform)];
    }

    /// <summary>Publishes a message and waits until the saga consumed it, so a following assertion sees its effect.</summary>
    public async Task DeliverAsync<T>(T message)
        where T : class
    {
        var messageId = NewId.NextGuid();
        await Harness.Bus.Publish(message, context => context.MessageId = messageId);
        // Polled with a deadline rather than Consumed.Any: on a loaded machine the harness's inactivity window can
        // close before the partitioned saga endpoint has taken the message.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!Harness.Consumed.Now<T>(x => x.Context.MessageId == messageId).Any())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{typeof(T).Name} {messageId} was not consumed within 30 s.");
            await Task.Delay(TimeSpan.FromMilliseconds(10));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        await _provider.DisposeAsync();
    }
}

public sealed class When_a_prompt_analysis_starts
{
    [Fact]
    public async Task Should_ask_every_platform_once_and_wait_for_their_answers()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();

        await saga.StartAnalysisAsync();

        Assert.True(await saga.IsInAsync(saga.Machine.Asking));
        Assert.Equal(PromptAnalysisSagaHarness.FourPlatforms.Order(), (await saga.AskedPlatformsAsync()).Order());
        var instance = await saga.InstanceAsync();
        Assert.Equal(4, instance.TotalPlatforms);
        Assert.Equal(saga.RunId, instance.RunId);
        Assert.Empty((await saga.FinishedAsync()));
    }

    [Fact]
    public async Task Should_ignore_a_redelivered_start()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();
        await saga.StartAnalysisAsync();

        await saga.StartAnalysisAsync();

        Assert.Equal(4, (await saga.AskedPlatformsAsync()).Count);
        Assert.True(await saga.IsInAsync(saga.Machine.Asking));
    }

    [Fact]
    public async Task Should_fail_at_once_when_there_is_no_platform_to_ask()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();

        await saga.DeliverAsync(new StartPromptAnalysis(saga.AnalysisId, saga.RunId, saga.PromptId, []));

        Assert.True(await saga.IsInAsync(saga.Machine.Failed));
        Assert.Equal(AnalysisJobStatus.Failed, Assert.Single((await saga.FinishedAsync())).Status);
    }
}

public sealed class When_every_platform_answers
{
    [Fact]
    public async Task Should_complete_when_all_succeeded()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();
        await saga.StartAnalysisAsync();

        foreach (var platform in PromptAnalysisSagaHarness.FourPlatforms)
            await saga.AnswerAsync(platform, succeeded: true);

        Assert.True(await saga.IsInAsync(saga.Machine.Completed));
        var finished = Assert.Single((await saga.FinishedAsync()));
        Assert.Equal(AnalysisJobStatus.Completed, finished.Status);
        Assert.Equal((4, 4, 0), (finished.TotalPlatforms, finished.SucceededPlatforms, finished.FailedPlatforms));
    }

    [Fact]
    public async Task Should_complete_when_some_failed()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();
        await saga.StartAnalysisAsync();

        await saga.AnswerAsync("openai", succeeded: false);
        await saga.AnswerAsync("claude", succeeded: true);
        await saga.AnswerAsync("gemini", succeeded: false);
        Assert.True(await saga.IsInAsync(saga.Machine.Asking));
        await saga.AnswerAsync("perplexity", succeeded: false);

        Assert.True(await saga.IsInAsync(saga.Machine.Completed));
        var finished = Assert.Single((await saga.FinishedAsync()));
        Assert.Equal(AnalysisJobStatus.Completed, finished.Status);
        Assert.Equal((1, 3), (finished.SucceededPlatforms, finished.FailedPlatforms));
    }

    [Fact]
    public async Task Should_fail_when_all_failed()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();
        await saga.StartAnalysisAsync();

        foreach (var platform in PromptAnalysisSagaHarness.FourPlatforms)
            await saga.AnswerAsync(platform, succeeded: false);

        Assert.True(await saga.IsInAsync(saga.Machine.Failed));
        var finished = Assert.Single((await saga.FinishedAsync()));
        Assert.Equal(AnalysisJobStatus.Failed, finished.Status);
        Assert.Equal((0, 4), (finished.SucceededPlatforms, finished.FailedPlatforms));
    }
}

public sealed class When_platform_answers_are_duplicated_or_out_of_order
{
    [Fact]
    public async Task Should_count_a_platform_once_however_often_it_answers()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();
        await saga.StartAnalysisAsync();

        await saga.AnswerAsync("openai", succeeded: true);
        await saga.AnswerAsync("openai", succeeded: true);
        await saga.AnswerAsync("openai", succeeded: false);
        await saga.AnswerAsync("claude", succeeded: false);
        await saga.AnswerAsync("claude", succeeded: false);
        await saga.AnswerAsync("gemini", succeeded: true);

        Assert.True(await saga.IsInAsync(saga.Machine.Asking));
        var instance = await saga.InstanceAsync();
        Assert.Equal((2, 1), (instance.SucceededPlatforms, instance.FailedPlatforms));
        Assert.Empty((await saga.FinishedAsync()));

        await saga.AnswerAsync("perplexity", succeeded: true);
        await saga.AnswerAsync("perplexity", succeeded: true);

        Assert.True(await saga.IsInAsync(saga.Machine.Completed));
        var finished = Assert.Single((await saga.FinishedAsync()));
        Assert.Equal((3, 1), (finished.SucceededPlatforms, finished.FailedPlatforms));
    }

    [Fact]
    public async Task Should_ignore_answers_after_it_finished()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();
        await saga.StartAnalysisAsync("openai", "claude");
        await saga.AnswerAsync("openai", succeeded: false);
        await saga.AnswerAsync("claude", succeeded: false);
        Assert.True(await saga.IsInAsync(saga.Machine.Failed));

        await saga.AnswerAsync("claude", succeeded: true);
        await saga.StartAnalysisAsync("openai", "claude");

        Assert.True(await saga.IsInAsync(saga.Machine.Failed));
        Assert.Single((await saga.FinishedAsync()));
    }

    [Fact]
    public async Task Should_ignore_an_answer_from_a_platform_that_was_not_asked()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();
        await saga.StartAnalysisAsync("openai", "claude");

        await saga.AnswerAsync("gemini", succeeded: true);
        await saga.AnswerAsync("openai", succeeded: false);

        Assert.True(await saga.IsInAsync(saga.Machine.Asking));
        await saga.AnswerAsync("claude", succeeded: false);
        Assert.True(await saga.IsInAsync(saga.Machine.Failed));
    }

    [Fact]
    public async Task Should_finish_when_answers_overtook_the_start()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();

        await saga.AnswerAsync("perplexity", succeeded: true);
        await saga.AnswerAsync("gemini", succeeded: false);
        Assert.True(await saga.IsInAsync(saga.Machine.AwaitingStart));
        await saga.StartAnalysisAsync();

        Assert.True(await saga.IsInAsync(saga.Machine.Asking));
        Assert.Equal(["claude", "openai"], (await saga.AskedPlatformsAsync()).Order());
        await saga.AnswerAsync("claude", succeeded: false);
        await saga.AnswerAsync("openai", succeeded: false);

        Assert.True(await saga.IsInAsync(saga.Machine.Completed));
        var finished = Assert.Single((await saga.FinishedAsync()));
        Assert.Equal((4, 1, 3), (finished.TotalPlatforms, finished.SucceededPlatforms, finished.FailedPlatforms));
    }

    [Fact]
    public async Task Should_finish_at_the_start_when_every_answer_came_first()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();

        await saga.AnswerAsync("claude", succeeded: false);
        await saga.AnswerAsync("openai", succeeded: true);
        await saga.StartAnalysisAsync("openai", "claude");

        Assert.True(await saga.IsInAsync(saga.Machine.Completed));
        Assert.Empty((await saga.AskedPlatformsAsync()));
        Assert.Equal(AnalysisJobStatus.Completed, Assert.Single((await saga.FinishedAsync())).Status);
    }
}

public sealed class When_a_prompt_analysis_is_cancelled
{
    [Fact]
    public async Task Should_stop_asking_and_finish_as_cancelled_while_asking()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();
        await saga.StartAnalysisAsync();
        await saga.AnswerAsync("openai", succeeded: true);

        await saga.CancelAsync();

        Assert.True(await saga.IsInAsync(saga.Machine.Cancelled));
        var finished = Assert.Single(await saga.FinishedAsync());
        Assert.Equal(AnalysisJobStatus.Cancelled, finished.Status);
        Assert.Equal((saga.RunId, saga.PromptId), (finished.RunId, finished.PromptId));
        Assert.Equal((4, 1, 0), (finished.TotalPlatforms, finished.SucceededPlatforms, finished.FailedPlatforms));
        Assert.NotNull((await saga.InstanceAsync()).FinishedAt);
    }

    [Fact]
    public async Task Should_record_late_answers_but_change_nothing()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();
        await saga.StartAnalysisAsync("openai", "claude");
        await saga.CancelAsync();

        await saga.AnswerAsync("openai", succeeded: true);
        await saga.AnswerAsync("claude", succeeded: false);

        Assert.True(await saga.IsInAsync(saga.Machine.Cancelled));
        var instance = await saga.InstanceAsync();
        Assert.Equal((1, 1), (instance.SucceededPlatforms, instance.FailedPlatforms));
        Assert.Equal(AnalysisJobStatus.Cancelled, Assert.Single(await saga.FinishedAsync()).Status);
    }

    [Fact]
    public async Task Should_ignore_a_duplicate_cancel_and_a_late_start()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();
        await saga.StartAnalysisAsync();
        await saga.CancelAsync();

        await saga.CancelAsync();
        await saga.StartAnalysisAsync();

        Assert.True(await saga.IsInAsync(saga.Machine.Cancelled));
        Assert.Equal(4, (await saga.AskedPlatformsAsync()).Count);
        Assert.Single(await saga.FinishedAsync());
    }

    [Fact]
    public async Task Should_never_ask_when_the_cancel_overtook_the_start()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();

        await saga.CancelAsync();
        await saga.StartAnalysisAsync();

        Assert.True(await saga.IsInAsync(saga.Machine.Cancelled));
        Assert.Empty(await saga.AskedPlatformsAsync());
        var finished = Assert.Single(await saga.FinishedAsync());
        Assert.Equal((AnalysisJobStatus.Cancelled, saga.RunId), (finished.Status, finished.RunId));
    }

    [Fact]
    public async Task Should_cancel_from_awaiting_start_without_asking()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();
        await saga.AnswerAsync("gemini", succeeded: true);
        Assert.True(await saga.IsInAsync(saga.Machine.AwaitingStart));

        await saga.CancelAsync();
        await saga.StartAnalysisAsync();

        Assert.True(await saga.IsInAsync(saga.Machine.Cancelled));
        Assert.Empty(await saga.AskedPlatformsAsync());
        Assert.Equal((AnalysisJobStatus.Cancelled, saga.RunId), (Assert.Single(await saga.FinishedAsync()).Status, Assert.Single(await saga.FinishedAsync()).RunId));
    }

    [Fact]
    public async Task Should_change_nothing_once_the_analysis_finished()
    {
        await using var saga = await PromptAnalysisSagaHarness.StartAsync();
        await saga.StartAnalysisAsync("openai");
        await saga.AnswerAsync("openai", succeeded: true);
        Assert.True(await saga.IsInAsync(saga.Machine.Completed));

        await saga.CancelAsync();

        Assert.True(await saga.IsInAsync(saga.Machine.Completed));
        Assert.Equal(AnalysisJobStatus.Completed, Assert.Single(await saga.FinishedAsync()).Status);
    }
}
