using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Sagas.Core.Http;
using Sagas.PromptAnalyses.Calls;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.Components.Tests.PromptAnalyses.Calls;

public class When_calling_a_platform_under_limits_and_retries
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    private static readonly Dictionary<string, string?> NoMargin = new() { ["PromptAnalyses:Limits:SafetyMargin"] = "0" };

    [Fact]
    public async Task Should_retry_a_429_after_its_retry_after_and_return_the_answer()
    {
        var clock = new FakeTimeProvider(T0);
        var claude = new ScriptedPlatform(PlatformNames.Claude, clock,
            now => ScriptedPlatform.Error(PlatformNames.Claude, PlatformErrorKind.RateLimited, true, 429, now, TimeSpan.FromSeconds(7)),
            now => ScriptedPlatform.Answer(PlatformNames.Claude, RateLimitSnapshot.None(now)));
        await using var services = CallerScenario.Build(clock, new ScriptedCatalog(claude), NoMargin, random: () => 0);

        var outcome = await clock.RunAsync(() => services.GetRequiredService<IPlatformCaller>().CallAsync("claude", "best crm?", null, CancellationToken.None));

        Assert.True(outcome.Succeeded);
        Assert.Equal(2, outcome.Attempts);
        var attempts = claude.Attempts.ToList();
        Assert.True(attempts[1] - attempts[0] >= TimeSpan.FromSeconds(7), $"retried after {attempts[1] - attempts[0]}");
    }

    [Fact]
    public async Task Should_make_other_callers_wait_out_a_retry_after_too()
    {
        var clock = new FakeTimeProvider(T0);
        var claude = new ScriptedPlatform(PlatformNames.Claude, clock,
            now => ScriptedPlatform.Error(PlatformNames.Claude, PlatformErrorKind.RateLimited, true, 429, now, TimeSpan.FromSeconds(20)),
            now => ScriptedPlatform.Answer(PlatformNames.Claude, RateLimitSnapshot.None(now)));
        await using var services = CallerScenario.Build(clock, new ScriptedCatalog(claude), NoMargin, random: () => 0);
        var caller = services.GetRequiredService<IPlatformCaller>();

        await clock.RunAsync(() => caller.CallAsync("claude", "first", null, CancellationToken.None));
        var pausedAt = claude.Attempts.First();
        var second = await clock.RunAsync(() => caller.CallAsync("claude", "second", null, CancellationToken.None));

        Assert.True(second.Succeeded);
        Assert.All(claude.Attempts.Skip(1), at => Assert.True(at >= pausedAt + TimeSpan.FromSeconds(20)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Should_hold_a_real_platform_to_its_limit_and_let_its_simulated_stand_in_run_free(bool simulated)
    {
        var clock = new FakeTimeProvider(T0);
        var gemini = new ScriptedPlatform(PlatformNames.Gemini, clock) { IsSimulated = simulated };
        var settings = new Dictionary<string, string?>(NoMargin) { ["PromptAnalyses:Limits:Gemini:RequestsPerMinute"] = "10" };
        await using var services = CallerScenario.Build(clock, new ScriptedCatalog(gemini), settings);
        var caller = services.GetRequiredService<IPlatformCaller>();

        for (var i = 0; i < 3; i++)
            Assert.True((await clock.RunAsync(() => caller.CallAsync("gemini", "best crm?", null, CancellationToken.None))).Succeeded);

        var attempts = gemini.Attempts.ToList();
        var span = attempts[^1] - attempts[0];
        if (simulated)
            Assert.Equal(TimeSpan.Zero, span);
        else
            Assert.True(span >= TimeSpan.FromSeconds(12), $"three calls at 10 per minute spanned only {span}");
    }

    [Theory]
    [InlineData(PlatformErrorKind.InvalidRequest, 400)]
    [InlineData(PlatformErrorKind.Authentication, 401)]
    [InlineData(PlatformErrorKind.PermissionDenied, 403)]
    [InlineData(PlatformErrorKind.QuotaExceeded, 429)]
    [InlineData(PlatformErrorKind.InvalidResponse, 200)]
    public async Task Should_return_a_permanent_failure_after_one_attempt(PlatformErrorKind kind, int status)
    {
        var clock = new FakeTimeProvider(T0);
        var openAi = new ScriptedPlatform(PlatformNames.OpenAi, clock,
            now => ScriptedPlatform.Error(PlatformNames.OpenAi, kind, false, status, now));
        await using var services = CallerScenario.Build(clock, new ScriptedCatalog(openAi));

        var outcome = await clock.RunAsync(() => services.GetRequiredService<IPlatformCaller>().CallAsync("openai", "p", null, CancellationToken.None));

        Assert.False(outcome.Succeeded);
        Assert.Equal(kind, outcome.Error!.Kind);
        Assert.Equal(1, outcome.Attempts);
        Assert.Single(openAi.Attempts);
    }

    [Fact]
    public async Task Should_give_up_after_three_retries_with_growing_backoff()
    {
        var clock = new FakeTimeProvider(T0);
        var gemini = new ScriptedPlatform(PlatformNames.Gemini, clock,
            now => ScriptedPlatform.Error(PlatformNames.Gemini, PlatformErrorKind.ServerError, true, 500, now));
        var settings = new Dictionary<string, string?>(NoMargin) { ["PromptAnalyses:Limits:Gemini:RequestsPerMinute"] = "0" };
        await using var services = CallerScenario.Build(clock, new ScriptedCatalog(gemini), settings, random: () => 0.5);

        var outcome = await clock.RunAsync(() => services.GetRequiredService<IPlatformCaller>().CallAsync("gemini", "p", null, CancellationToken.None));

        Assert.False(outcome.Succeeded);
        Assert.Equal(PlatformErrorKind.ServerError, outcome.Error!.Kind);
        Assert.Equal(4, outcome.Attempts);
        var attempts = gemini.Attempts.ToList();
        Assert.Equal(
            [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)],
            attempts.Zip(attempts.Skip(1), (first, second) => second - first).ToList());
    }

    [Fact]
    public async Task Should_take_a_permit_for_every_attempt()
    {
        var clock = new FakeTimeProvider(T0);
        var gemini = new ScriptedPlatform(PlatformNames.Gemini, clock,
            now => ScriptedPlatform.Error(PlatformNames.Gemini, PlatformErrorKind.ServerError, true, 500, now),
            now => ScriptedPlatform.Answer(PlatformNames.Gemini, RateLimitSnapshot.None(now)));
        await using var services = CallerScenario.Build(clock, new ScriptedCatalog(gemini), NoMargin, random: () => 0);

        // Gemini's default 10 per minute: the retry's backoff (0.8 s) is shorter than the spacing, so the permit decides.
        var outcome = await clock.RunAsync(() => services.GetRequiredService<IPlatformCaller>().CallAsync("gemini", "p", null, CancellationToken.None));

        Assert.Equal(2, outcome.Attempts);
        var attempts = gemini.Attempts.ToList();
        Assert.Equal(TimeSpan.FromSeconds(6), attempts[1] - attempts[0]);
    }

    [Fact]
    public async Task Should_spread_concurrent_calls_at_the_configured_rate()
    {
        var clock = new FakeTimeProvider(T0);
        var gemini = new ScriptedPlatform(PlatformNames.Gemini, clock);
        await using var services = CallerScenario.Build(clock, new ScriptedCatalog(gemini), NoMargin);
        var caller = services.GetRequiredService<IPlatformCaller>();

        var outcomes = await clock.RunAsync(() => Task.WhenAll(Enumerable.Range(0, 5).Select(i => caller.CallAsync("gemini", $"prompt {i}", null, CancellationToken.None))));

        Assert.All(outcomes, outcome => Assert.True(outcome.Succeeded));
        Assert.Equal(
            Enumerable.Range(0, 5).Select(i => T0 + TimeSpan.FromSeconds(6 * i)).ToList(),
            gemini.Attempts.Order().ToList());
    }

    [Fact]
    public async Task Should_lower_the_pace_when_the_provider_reports_less_remaining()
    {
        var clock = new FakeTimeProvider(T0);
        var openAi = new ScriptedPlatform(PlatformNames.OpenAi, clock,
            now => ScriptedPlatform.Answer(PlatformNames.OpenAi, new RateLimitSnapshot
            {
                ObservedAt = now,
                RemainingRequests = 2,
                RequestsResetAt = now + TimeSpan.FromSeconds(30),
            }));
        await using var services = CallerScenario.Build(clock, new ScriptedCatalog(openAi), NoMargin);
        var caller = services.GetRequiredService<IPlatformCaller>();

        await clock.RunAsync(() => caller.CallAsync("openai", "first", null, CancellationToken.None));
        await clock.RunAsync(() => caller.CallAsync("openai", "second", null, CancellationToken.None));
        await clock.RunAsync(() => caller.CallAsync("openai", "third", null, CancellationToken.None));

        // 5,000 per minute would allow 12 ms; two left for 30 s means 15 s apart.
        var attempts = openAi.Attempts.ToList();
        Assert.True(attempts[2] - attempts[1] >= TimeSpan.FromSeconds(15), $"spaced {attempts[2] - attempts[1]}");
    }

    [Fact]
    public async Task Should_answer_an_unknown_platform_with_an_error_and_no_attempt()
    {
        var clock = new FakeTimeProvider(T0);
        await using var services = CallerScenario.Build(clock, new ScriptedCatalog(new ScriptedPlatform(PlatformNames.Claude, clock)));

        var outcome = await services.GetRequiredService<IPlatformCaller>().CallAsync("mistral", "p", null, CancellationToken.None);

        Assert.False(outcome.Succeeded);
        Assert.Equal(PlatformErrorKind.InvalidRequest, outcome.Error!.Kind);
        Assert.Equal(0, outcome.Attempts);
    }

    [Fact]
    public async Task Should_throw_only_when_cancelled()
    {
        var clock = new FakeTimeProvider(T0);
        var gemini = new ScriptedPlatform(PlatformNames.Gemini, clock);
        await using var services = CallerScenario.Build(clock, new ScriptedCatalog(gemini));
        var caller = services.GetRequiredService<IPlatformCaller>();
        await caller.CallAsync("gemini", "takes the first slot", null, CancellationToken.None);
        using var cancellation = new CancellationTokenSource();

        var waiting = caller.CallAsync("gemini", "waits for the next slot", null, cancellation.Token);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Single(gemini.Attempts);
    }
}
