using Sagas.Contracts.PromptAnalyses;

namespace Sagas.Components.Tests.PromptAnalyses;

public sealed class When_a_prompt_analysis_reaches_its_budget
{
    private const string Reason = "run budget of $0.10 reached: $0.09 spent, $0.00 reserved, next call estimated $0.02";

    private static readonly DateTimeOffset Refused = new(2026, 12, 5, 3, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Should_park_the_refused_asks_and_keep_counting_the_others()
    {
        await using var test = await PromptAnalysisSagaHarness.StartAsync();
        await test.StartAnalysisAsync();

        await test.DeliverAsync(new PromptAnalysisPaused(test.AnalysisId, "openai", Reason, Refused));
        await test.DeliverAsync(new PromptAnalysisPaused(test.AnalysisId, "claude", Reason, Refused));
        await test.DeliverAsync(new PromptAnalysisPaused(test.AnalysisId, "claude", Reason, Refused));
        await test.AnswerAsync("gemini", succeeded: true);
        await test.AnswerAsync("perplexity", succeeded: false);

        Assert.True(await test.IsInAsync(test.Machine.Paused));
        var saga = await test.InstanceAsync();
        Assert.Equal(("claude,openai", Reason, 1, 1), (saga.ParkedPlatforms, saga.PausedReason, saga.SucceededPlatforms, saga.FailedPlatforms));
        Assert.Empty(await test.FinishedAsync());
    }

    [Fact]
    public async Task Should_ask_the_parked_platforms_once_when_resumed_and_then_finish()
    {
        await using var test = await PromptAnalysisSagaHarness.StartAsync();
        await test.StartAnalysisAsync();
        await test.DeliverAsync(new PromptAnalysisPaused(test.AnalysisId, "openai", Reason, Refused));
        await test.AnswerAsync("claude", succeeded: true);
        await test.AnswerAsync("gemini", succeeded: true);
        await test.AnswerAsync("perplexity", succeeded: true);

        await test.DeliverAsync(new ResumePromptAnalysis(test.AnalysisId, Refused.AddMinutes(1)));
        await test.DeliverAsync(new ResumePromptAnalysis(test.AnalysisId, Refused.AddMinutes(2)));

        Assert.True(await test.IsInAsync(test.Machine.Asking));
        // Four at the start, openai once more on the first resume; the second resume found nothing parked.
        Assert.Equal(["claude", "gemini", "openai", "openai", "perplexity"], (await test.AskedPlatformsAsync()).Order());
        await test.AnswerAsync("openai", succeeded: true);
        Assert.True(await test.IsInAsync(test.Machine.Completed));
        Assert.Single(await test.FinishedAsync());
    }

    [Fact]
    public async Task Should_ask_again_at_once_when_the_pause_arrives_after_the_raise_that_answers_it()
    {
        await using var test = await PromptAnalysisSagaHarness.StartAsync();
        await test.StartAnalysisAsync();
        await test.DeliverAsync(new ResumePromptAnalysis(test.AnalysisId, Refused.AddSeconds(1)));

        await test.DeliverAsync(new PromptAnalysisPaused(test.AnalysisId, "gemini", Reason, Refused));

        Assert.True(await test.IsInAsync(test.Machine.Asking));
        Assert.Equal(2, (await test.AskedPlatformsAsync()).Count(p => p == "gemini"));
        Assert.Null((await test.InstanceAsync()).ParkedPlatforms);
    }

    [Fact]
    public async Task Should_ignore_a_pause_and_a_resume_after_it_finished()
    {
        await using var test = await PromptAnalysisSagaHarness.StartAsync();
        await test.StartAnalysisAsync("openai");
        await test.AnswerAsync("openai", succeeded: true);
        Assert.True(await test.IsInAsync(test.Machine.Completed));

        await test.DeliverAsync(new PromptAnalysisPaused(test.AnalysisId, "openai", Reason, Refused));
        await test.DeliverAsync(new ResumePromptAnalysis(test.AnalysisId, Refused.AddMinutes(1)));

        Assert.True(await test.IsInAsync(test.Machine.Completed));
        Assert.Single(await test.AskedPlatformsAsync());
    }
}
