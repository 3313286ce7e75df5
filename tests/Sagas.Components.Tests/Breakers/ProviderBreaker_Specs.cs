using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Sagas.Core.Configuration;
using Sagas.Modules.Breakers;
using Sagas.Persistence;

// A closed or fail-fast breaker answers synchronously, which is what these specs check: its ValueTask is read only once completed.
#pragma warning disable CA2012, xUnit1031

namespace Sagas.Components.Tests.Breakers;

/// <summary>Every transition of one breaker, in one process over the in-memory store, on a fake clock.</summary>
public class When_a_provider_breaker_sees_failures
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemoryBreakerStore _store;

    public When_a_provider_breaker_sees_failures() => _store = new InMemoryBreakerStore(_clock);

    private ProviderBreakers Breakers(Action<BreakerSettings>? configure = null, bool enabled = true)
    {
        var settings = new BreakerSettings { ConsecutiveFailures = 3, FailureRatio = 0.5, MinimumCalls = 10, SamplingWindow = TimeSpan.FromSeconds(30), BreakDuration = TimeSpan.FromSeconds(20), ProbeCount = 2 };
        configure?.Invoke(settings);
        return new ProviderBreakers(new BreakerOptions { Enabled = enabled, Defaults = settings }, _store, _clock);
    }

    private static BreakerPermit Enter(ProviderBreaker breaker)
    {
        var task = breaker.EnterAsync(CancellationToken.None);
        Assert.True(task.IsCompleted, "a fail-fast breaker answers without waiting");
        return task.Result;
    }

    [Fact]
    public async Task Should_open_after_the_consecutive_failures_and_turn_calls_away()
    {
        var breakers = Breakers();
        var breaker = breakers.For("openai", "gpt-4o");
        breaker.Record(failed: true);
        breaker.Record(failed: true);
        await breakers.ReportAsync(CancellationToken.None);
        Assert.Equal(BreakerState.Closed, breaker.State);

        breaker.Record(failed: true);
        await breakers.ReportAsync(CancellationToken.None);

        Assert.Equal(BreakerState.Open, breaker.State);
        var permit = Enter(breaker);
        Assert.Equal(BreakerVerdict.Rejected, permit.Verdict);
        Assert.Equal(TimeSpan.FromSeconds(20), permit.RetryAfter);
        var transition = Assert.Single(await _store.TransitionsAsync(null, 10, CancellationToken.None));
        Assert.Equal((BreakerState.Closed, BreakerState.Open, "3 consecutive failures"), (transition.From, transition.To, transition.Reason));
    }

    [Fact]
    public async Task Should_not_count_a_streak_broken_by_a_success()
    {
        var breakers = Breakers();
        var breaker = breakers.For("openai", "gpt-4o");
        breaker.Record(failed: true);
        breaker.Record(failed: true);
        breaker.Record(failed: false);
        breaker.Record(failed: true);
        await breakers.ReportAsync(CancellationToken.None);
        breaker.Record(failed: true);
        await breakers.ReportAsync(CancellationToken.None);

        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.Equal(2, (await _store.ListAsync(CancellationToken.None)).Single().ConsecutiveFailures);
    }

    [Fact]
    public async Task Should_open_on_the_failure_ratio_once_the_window_has_the_minimum_calls()
    {
        var breakers = Breakers(s => s.ConsecutiveFailures = 0);
        var breaker = breakers.For("claude", null);
        for (var i = 0; i < 9; i++)
            breaker.Record(failed: i % 2 == 0);
        await breakers.ReportAsync(CancellationToken.None);
        Assert.Equal(BreakerState.Closed, breaker.State);

        breaker.Record(failed: false);
        await breakers.ReportAsync(CancellationToken.None);
        Assert.Equal(BreakerState.Open, breaker.State);
        Assert.Equal("5 of 10 calls failed", (await _store.TransitionsAsync(null, 1, CancellationToken.None)).Single().Reason);
    }

    [Fact]
    public async Task Should_forget_the_failures_of_a_window_that_has_passed()
    {
        var breakers = Breakers(s => s.ConsecutiveFailures = 0);
        var breaker = breakers.For("claude", null);
        for (var i = 0; i < 8; i++)
            breaker.Record(failed: true);
        await breakers.ReportAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(31));

        breaker.Record(failed: true);
        breaker.Record(failed: false);
        await breakers.ReportAsync(CancellationToken.None);

        Assert.Equal(BreakerState.Closed, breaker.State);
        var record = (await _store.ListAsync(CancellationToken.None)).Single();
        Assert.Equal((2L, 1L, 10L, 9L), (record.WindowCalls, record.WindowFailures, record.TotalCalls, record.TotalFailures));
    }

    [Fact]
    public async Task Should_half_open_after_the_break_and_hand_out_exactly_the_probes()
    {
        var breakers = Breakers();
        var breaker = await OpenedAsync(breakers);
        _clock.Advance(TimeSpan.FromSeconds(19));
        Assert.Equal(BreakerVerdict.Rejected, Enter(breaker).Verdict);

        _clock.Advance(TimeSpan.FromSeconds(1));
        var first = await breaker.EnterAsync(CancellationToken.None);
        var second = await breaker.EnterAsync(CancellationToken.None);
        var third = await breaker.EnterAsync(CancellationToken.None);

        Assert.Equal([BreakerVerdict.Probe, BreakerVerdict.Probe, BreakerVerdict.Rejected], new[] { first.Verdict, second.Verdict, third.Verdict });
        Assert.Equal(BreakerState.HalfOpen, breaker.State);
        Assert.Equal((BreakerState.Open, BreakerState.HalfOpen), Last(await _store.TransitionsAsync(null, 1, CancellationToken.None)));
    }

    [Fact]
    public async Task Should_close_when_every_probe_succeeds()
    {
        var breakers = Breakers();
        var breaker = await OpenedAsync(breakers);
        _clock.Advance(TimeSpan.FromSeconds(20));
        var first = await breaker.EnterAsync(CancellationToken.None);
        var second = await breaker.EnterAsync(CancellationToken.None);

        await breaker.CompleteAsync(first, failed: false, CancellationToken.None);
        Assert.Equal(BreakerState.HalfOpen, breaker.State);
        await breaker.CompleteAsync(second, failed: false, CancellationToken.None);

        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.Equal(BreakerVerdict.Call, Enter(breaker).Verdict);
        Assert.Equal((BreakerState.HalfOpen, BreakerState.Closed), Last(await _store.TransitionsAsync(null, 1, CancellationToken.None)));

        // The streak that opened it is not carried over: it takes three new failures to open again.
        breaker.Record(failed: true);
        breaker.Record(failed: true);
        await breakers.ReportAsync(CancellationToken.None);
        Assert.Equal(BreakerState.Closed, breaker.State);
    }

    [Fact]
    public async Task Should_open_again_when_a_probe_fails()
    {
        var breakers = Breakers();
        var breaker = await OpenedAsync(breakers);
        _clock.Advance(TimeSpan.FromSeconds(20));
        var probe = await breaker.EnterAsync(CancellationToken.None);

        await breaker.CompleteAsync(probe, failed: true, CancellationToken.None);

        Assert.Equal(BreakerState.Open, breaker.State);
        var permit = Enter(breaker);
        Assert.Equal((BreakerVerdict.Rejected, TimeSpan.FromSeconds(20)), (permit.Verdict, permit.RetryAfter));
        Assert.Equal((BreakerState.HalfOpen, BreakerState.Open), Last(await _store.TransitionsAsync(null, 1, CancellationToken.None)));
    }

    [Fact]
    public async Task Should_hand_out_a_probe_again_when_its_holder_never_reported()
    {
        var breakers = Breakers(s => s.ProbeCount = 1);
        var breaker = await OpenedAsync(breakers);
        _clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(BreakerVerdict.Probe, (await breaker.EnterAsync(CancellationToken.None)).Verdict);
        await breakers.ReportAsync(CancellationToken.None);
        Assert.Equal(BreakerVerdict.Rejected, Enter(breaker).Verdict);

        _clock.Advance(TimeSpan.FromSeconds(20));
        await breakers.ReportAsync(CancellationToken.None);

        Assert.Equal(BreakerVerdict.Probe, (await breaker.EnterAsync(CancellationToken.None)).Verdict);
    }

    [Fact]
    public async Task Should_let_a_waiting_call_go_as_a_probe_once_the_break_is_over()
    {
        var breakers = Breakers(s => { s.OnOpen = "Wait"; s.MaxWait = TimeSpan.FromMinutes(1); s.ProbeCount = 1; });
        var breaker = await OpenedAsync(breakers);

        var waiting = breaker.EnterAsync(CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        _clock.Advance(TimeSpan.FromSeconds(20));

        Assert.Equal(BreakerVerdict.Probe, (await waiting.WaitAsync(TimeSpan.FromSeconds(10))).Verdict);
    }

    [Fact]
    public async Task Should_reject_a_waiting_call_after_the_longest_wait()
    {
        var breakers = Breakers(s => { s.OnOpen = "Wait"; s.MaxWait = TimeSpan.FromSeconds(5); });
        var breaker = await OpenedAsync(breakers);

        var waiting = breaker.EnterAsync(CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        _clock.Advance(TimeSpan.FromSeconds(5));

        var permit = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((BreakerVerdict.Rejected, TimeSpan.FromSeconds(15)), (permit.Verdict, permit.RetryAfter));
    }

    [Fact]
    public async Task Should_close_when_an_operator_resets_it()
    {
        var breakers = Breakers();
        var breaker = await OpenedAsync(breakers);

        var record = await breakers.ResetAsync(breaker.Key, CancellationToken.None);

        Assert.Equal(BreakerState.Closed, record!.State);
        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.Null(await breakers.ResetAsync(new BreakerKey("nobody", ""), CancellationToken.None));
    }

    [Fact]
    public async Task Should_let_everything_through_and_report_nothing_when_disabled()
    {
        var breakers = Breakers(enabled: false);
        var breaker = breakers.For("openai", "gpt-4o");
        for (var i = 0; i < 10; i++)
            breaker.Record(failed: true);
        await breakers.ReportAsync(CancellationToken.None);

        Assert.Equal(BreakerVerdict.Call, Enter(breaker).Verdict);
        Assert.Empty(await _store.ListAsync(CancellationToken.None));
    }

    [Fact]
    public void Should_answer_a_closed_breaker_without_allocating()
    {
        var breaker = Breakers().For("openai", "gpt-4o");
        Enter(breaker);
        breaker.Record(failed: false);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            var permit = breaker.EnterAsync(CancellationToken.None);
            if (!permit.IsCompletedSuccessfully || !permit.Result.IsAllowed)
                Assert.Fail("a closed breaker lets every call through at once");
            breaker.Record(failed: (i & 7) == 0);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private async Task<ProviderBreaker> OpenedAsync(ProviderBreakers breakers)
    {
        var breaker = breakers.For("openai", "gpt-4o");
        for (var i = 0; i < 3; i++)
            breaker.Record(failed: true);
        await breakers.ReportAsync(CancellationToken.None);
        Assert.Equal(BreakerState.Open, breaker.State);
        return breaker;
    }

    private static (BreakerState, BreakerState) Last(IReadOnlyList<BreakerTransition> transitions) => (transitions[0].From, transitions[0].To);
}

public class When_the_breakers_are_left_switched_off
{
    private static ServiceProvider Container(params (string Key, string Value)[] values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();
        var services = new ServiceCollection();
        // A PostgreSQL the spec never starts: a store that connected would fail.
        services.AddSingleton(new DatabaseSettings(DatabaseProvider.PostgreSql, "Host=127.0.0.1;Port=1;Database=none", MigrateAtStartup: false));
        services.AddProviderBreakers(configuration);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Should_be_on_and_shared_through_postgresql_when_the_configuration_says_nothing()
    {
        using var container = Container();
        var breakers = container.GetRequiredService<ProviderBreakers>();

        Assert.True(breakers.Enabled);
        Assert.IsType<PostgresBreakerStore>(container.GetRequiredService<IBreakerStore>());
    }

    [Fact]
    public async Task Should_hand_every_call_site_its_own_client_and_touch_no_table_when_switched_off()
    {
        using var container = Container(("Breakers:Enabled", "false"));
        Assert.IsType<InMemoryBreakerStore>(container.GetRequiredService<IBreakerStore>());
        var breakers = container.GetRequiredService<ProviderBreakers>();
        var inner = new object();

        Assert.Same(inner, breakers.Guard(inner, (_, _) => new object()));
        await breakers.ReportAsync(CancellationToken.None);
        Assert.Empty(await breakers.ListAsync(CancellationToken.None));
        Assert.Empty(breakers.Known);
    }

    [Fact]
    public void Should_wrap_and_share_through_postgresql_once_switched_on()
    {
        using var container = Container(("Breakers:Enabled", "true"));
        var breakers = container.GetRequiredService<ProviderBreakers>();
        var inner = new object();

        Assert.NotSame(inner, breakers.Guard(inner, (_, _) => new object()));
        Assert.IsType<PostgresBreakerStore>(container.GetRequiredService<IBreakerStore>());
    }
}

public class When_breaker_settings_are_read
{
    private static BreakerOptions Read(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build()
            .ReadValidatedOptions<BreakerOptions>(BreakerOptions.SectionName);

    [Fact]
    public void Should_take_the_models_over_the_providers_over_the_defaults()
    {
        var options = Read(
            ("Breakers:Defaults:BreakDuration", "00:01:00"),
            ("Breakers:Providers:openai:ConsecutiveFailures", "9"),
            ("Breakers:Providers:openai:Models:gpt-4o:OnOpen", "Wait"));

        var model = options.For("openai", "gpt-4o");
        Assert.Equal((9, BreakerOpenBehaviour.Wait, TimeSpan.FromMinutes(1)), (model.ConsecutiveFailures, model.Behaviour, model.BreakDuration));
        Assert.Equal(BreakerOpenBehaviour.FailFast, options.For("openai", "").Behaviour);
        Assert.Equal(5, options.For("claude", "").ConsecutiveFailures);
    }

    [Theory]
    [InlineData("Breakers:Defaults:ProbeCount", "0", "Breakers:Defaults:ProbeCount")]
    [InlineData("Breakers:Defaults:OnOpen", "Sometimes", "Breakers:Defaults:OnOpen")]
    [InlineData("Breakers:ReportInterval", "00:00:00.001", "Breakers:ReportInterval")]
    [InlineData("Breakers:Providers:openai:FailureRatio", "1.5", "Breakers:Providers:openai:FailureRatio")]
    [InlineData("Breakers:Providers:openai:Models:gpt-4o:BreakDuration", "00:00:00", "Breakers:Providers:openai:Models:gpt-4o:BreakDuration")]
    public void Should_refuse_a_bad_value_naming_its_key(string key, string value, string named)
    {
        var error = Assert.Throws<SagasConfigurationException>(() => Read((key, value)));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }
}
