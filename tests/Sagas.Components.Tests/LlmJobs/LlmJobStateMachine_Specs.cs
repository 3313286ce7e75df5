using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Contracts.LlmJobs;
using Sagas.LlmJobs.StateMachines;

namespace Sagas.Components.Tests.LlmJobs;

public sealed class LlmJobSagaHarness : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private LlmJobSagaHarness(ServiceProvider provider, ITestHarness harness)
    {
        _provider = provider;
        Harness = harness;
        Saga = harness.GetSagaStateMachineHarness<LlmJobStateMachine, LlmJobState>();
        Machine = provider.GetRequiredService<LlmJobStateMachine>();
    }

    public ITestHarness Harness { get; }

    public ISagaStateMachineTestHarness<LlmJobStateMachine, LlmJobState> Saga { get; }

    public LlmJobStateMachine Machine { get; }

    public Guid JobId { get; } = NewId.NextGuid();

    public static async Task<LlmJobSagaHarness> StartAsync()
    {
        var provider = new ServiceCollection()
            .AddMassTransitTestHarness(x =>
            {
                x.AddDelayedMessageScheduler();
                x.AddSagaStateMachine<LlmJobStateMachine, LlmJobState, LlmJobStateDefinition>().InMemoryRepository();
                x.UsingInMemory((context, cfg) =>
                {
                    cfg.UseDelayedMessageScheduler();
                    cfg.ConfigureEndpoints(context);
                });
            })
            .BuildServiceProvider(validateScopes: true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        return new LlmJobSagaHarness(provider, harness);
    }

    /// <summary>
    /// Publishes the acceptance and waits until the saga has consumed one: the in-memory endpoint consumes concurrently,
    /// so an event published right after could otherwise reach the saga before the instance exists (seen once in a full
    /// run: <c>LlmJobStarted</c> first, ignored, and the job never running).
    /// </summary>
    public async Task AcceptAsync(TimeSpan? expiresIn = null)
    {
        await Harness.Bus.Publish(new LlmJobAccepted(JobId, 3, LlmJobPriority.Normal, LlmJobMode.Background, DateTimeOffset.UtcNow + (expiresIn ?? TimeSpan.FromHours(24))));
        Assert.True(await Saga.Consumed.Any<LlmJobAccepted>(x => x.Context.Message.JobId == JobId));
    }

    public Task FinishAsync(int succeeded, int failed, int cancelled = 0, string? status = null) =>
        Harness.Bus.Publish(new LlmJobItemsFinished(JobId, succeeded + failed + cancelled, succeeded, failed, cancelled, status));

    public async Task<bool> IsInAsync(State state) => await Saga.Exists(JobId, _ => state) is not null;

    public async Task DeadlineScheduledAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Harness.Sent.Now<LlmJobDeadlineReached>(x => x.Context.Message.JobId == JobId).Any())
        {
            Assert.True(DateTime.UtcNow < deadline, "the job's deadline was not scheduled within 30 s");
            await Task.Delay(20);
        }
    }

    public async Task<LlmJobFinished> FinishedEventAsync()
    {
        Assert.True(await Harness.Published.Any<LlmJobFinished>(x => x.Context.Message.JobId == JobId));
        await Harness.SettleAsync();
        return Harness.Published.Now<LlmJobFinished>(x => x.Context.Message.JobId == JobId).Single().Context.Message;
    }

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        await _provider.DisposeAsync();
    }
}

public sealed class When_an_llm_job_is_accepted
{
    [Fact]
    public async Task Should_queue_it_and_ask_for_provider_submission()
    {
        await using var test = await LlmJobSagaHarness.StartAsync();

        await test.AcceptAsync();

        Assert.True(await test.IsInAsync(test.Machine.Queued));
        Assert.True(await test.Harness.Published.Any<StartLlmJobItems>(x => x.Context.Message.JobId == test.JobId));
        var instance = test.Saga.Sagas.Contains(test.JobId)!;
        Assert.Equal(3, instance.TotalItems);
        Assert.NotNull(instance.DeadlineTokenId);
    }

    [Fact]
    public async Task Should_run_once_items_reached_the_provider()
    {
        await using var test = await LlmJobSagaHarness.StartAsync();
        await test.AcceptAsync();
        Assert.True(await test.IsInAsync(test.Machine.Queued));

        await test.Harness.Bus.Publish(new LlmJobStarted(test.JobId, 3, 0));

        Assert.True(await test.IsInAsync(test.Machine.Running));
    }

    [Fact]
    public async Task Should_ignore_a_duplicate_acceptance()
    {
        await using var test = await LlmJobSagaHarness.StartAsync();
        await test.AcceptAsync();
        Assert.True(await test.IsInAsync(test.Machine.Queued));

        await test.AcceptAsync();

        Assert.True(await test.Saga.Consumed.Any<LlmJobAccepted>(x => x.Context.Message.JobId == test.JobId && x != test.Saga.Consumed.Now<LlmJobAccepted>().First()));
        await test.Harness.SettleAsync();
        Assert.Single(test.Harness.Published.Now<StartLlmJobItems>(x => x.Context.Message.JobId == test.JobId));
        Assert.True(await test.IsInAsync(test.Machine.Queued));
    }
}

public sealed class When_every_item_of_an_llm_job_is_finished
{
    [Fact]
    public async Task Should_complete_when_any_item_succeeded()
    {
        await using var test = await LlmJobSagaHarness.StartAsync();
        await test.AcceptAsync();
        await test.Harness.Bus.Publish(new LlmJobStarted(test.JobId, 3, 0));
        Assert.True(await test.IsInAsync(test.Machine.Running));

        await test.FinishAsync(succeeded: 1, failed: 2);

        Assert.True(await test.IsInAsync(test.Machine.Completed));
        var finished = await test.FinishedEventAsync();
        Assert.Equal("completed", finished.Status);
        Assert.Equal(1, finished.SucceededItems);
        Assert.Equal(2, finished.FailedItems);
    }

    [Fact]
    public async Task Should_fail_when_every_item_failed()
    {
        await using var test = await LlmJobSagaHarness.StartAsync();
        await test.AcceptAsync();
        await test.Harness.Bus.Publish(new LlmJobStarted(test.JobId, 3, 0));
        Assert.True(await test.IsInAsync(test.Machine.Running));

        await test.FinishAsync(succeeded: 0, failed: 3);

        Assert.True(await test.IsInAsync(test.Machine.Failed));
        Assert.Equal("failed", (await test.FinishedEventAsync()).Status);
    }

    [Fact]
    public async Task Should_finish_even_when_items_finish_before_the_start_is_reported()
    {
        await using var test = await LlmJobSagaHarness.StartAsync();
        await test.AcceptAsync();
        Assert.True(await test.IsInAsync(test.Machine.Queued));

        // Every item was rejected on submission: the submitter reports the end before (or instead of) the start.
        await test.FinishAsync(succeeded: 0, failed: 3);
        await test.Harness.Bus.Publish(new LlmJobStarted(test.JobId, 0, 3));

        Assert.True(await test.IsInAsync(test.Machine.Failed));
        Assert.True(await test.Saga.Consumed.Any<LlmJobStarted>(x => x.Context.Message.JobId == test.JobId));
        Assert.True(await test.IsInAsync(test.Machine.Failed));
    }

    [Fact]
    public async Task Should_announce_the_outcome_once_when_the_end_is_reported_twice()
    {
        await using var test = await LlmJobSagaHarness.StartAsync();
        await test.AcceptAsync();
        await test.FinishAsync(succeeded: 3, failed: 0);
        Assert.True(await test.IsInAsync(test.Machine.Completed));

        await test.FinishAsync(succeeded: 3, failed: 0);

        Assert.True(await test.Harness.Consumed.Any<LlmJobItemsFinished>(x => test.Harness.Consumed.Now<LlmJobItemsFinished>().Count() == 2));
        Assert.True(await test.IsInAsync(test.Machine.Completed));
        await test.Harness.SettleAsync();
        Assert.Single(test.Harness.Published.Now<LlmJobFinished>(x => x.Context.Message.JobId == test.JobId));
    }
}

public sealed class When_an_llm_job_is_cancelled
{
    [Fact]
    public async Task Should_stop_its_items_and_end_cancelled_when_the_stop_reached_the_row_first()
    {
        await using var test = await LlmJobSagaHarness.StartAsync();
        await test.AcceptAsync();
        await test.Harness.Bus.Publish(new LlmJobStarted(test.JobId, 3, 0));
        Assert.True(await test.IsInAsync(test.Machine.Running));

        await test.Harness.Bus.Publish(new CancelLlmJob(test.JobId, "changed my mind"));

        Assert.True(await test.IsInAsync(test.Machine.Stopping));
        Assert.True(await test.Harness.Published.Any<StopLlmJobItems>(x =>
            x.Context.Message.JobId == test.JobId && x.Context.Message.Reason == LlmJobStopReason.Cancelled && x.Context.Message.Detail == "changed my mind"));

        await test.FinishAsync(succeeded: 1, failed: 0, cancelled: 2, status: "cancelled");

        Assert.True(await test.IsInAsync(test.Machine.Cancelled));
        Assert.Equal("cancelled", (await test.FinishedEventAsync()).Status);
    }

    [Fact]
    public async Task Should_end_completed_when_the_last_result_reached_the_row_before_the_stop()
    {
        await using var test = await LlmJobSagaHarness.StartAsync();
        await test.AcceptAsync();
        await test.Harness.Bus.Publish(new LlmJobStarted(test.JobId, 3, 0));
        Assert.True(await test.IsInAsync(test.Machine.Running));
        await test.Harness.Bus.Publish(new CancelLlmJob(test.JobId, "too late"));
        Assert.True(await test.IsInAsync(test.Machine.Stopping));

        // The poller's last result committed before the stop: the row says completed and nothing was cancelled.
        await test.FinishAsync(succeeded: 3, failed: 0, cancelled: 0, status: "completed");

        Assert.True(await test.IsInAsync(test.Machine.Completed));
        var finished = await test.FinishedEventAsync();
        Assert.Equal(("completed", 3, 0), (finished.Status, finished.SucceededItems, finished.CancelledItems));
    }

    [Fact]
    public async Task Should_end_failed_when_the_row_failed_before_the_stop()
    {
        await using var test = await LlmJobSagaHarness.StartAsync();
        await test.AcceptAsync();
        await test.Harness.Bus.Publish(new CancelLlmJob(test.JobId, null));
        Assert.True(await test.IsInAsync(test.Machine.Stopping));

        await test.FinishAsync(succeeded: 0, failed: 3, cancelled: 0, status: "failed");

        Assert.True(await test.IsInAsync(test.Machine.Failed));
        Assert.Equal("failed", (await test.FinishedEventAsync()).Status);
    }

    [Fact]
    public async Task Should_discard_a_cancel_for_a_job_it_never_saw()
    {
        await using var test = await LlmJobSagaHarness.StartAsync();

        await test.Harness.Bus.Publish(new CancelLlmJob(test.JobId, null));

        Assert.True(await test.Harness.Consumed.Any<CancelLlmJob>());
        Assert.False(await test.Harness.Published.Any<Fault<CancelLlmJob>>());
        Assert.Null(test.Saga.Sagas.Contains(test.JobId));
    }
}

public sealed class When_an_llm_job_reaches_its_deadline
{
    [Fact]
    public async Task Should_stop_unfinished_items_as_expired()
    {
        await using var test = await LlmJobSagaHarness.StartAsync();
        await test.AcceptAsync(expiresIn: TimeSpan.FromHours(24));
        await test.Harness.Bus.Publish(new LlmJobStarted(test.JobId, 3, 0));
        Assert.True(await test.IsInAsync(test.Machine.Running));

        // The deadline leaves after the saga's step (its outbox), so the saga can show Running before the delay provider
        // holds it; advancing the clock before that would fire nothing (seen once on a machine at load 14).
        await test.DeadlineScheduledAsync();
        await test.Harness.Scope.ServiceProvider.GetRequiredService<MassTransit.InMemoryTransport.IInMemoryDelayProvider>().Advance(TimeSpan.FromHours(24));

        Assert.True(await test.IsInAsync(test.Machine.Stopping));
        Assert.True(await test.Harness.Published.Any<StopLlmJobItems>(x => x.Context.Message.JobId == test.JobId && x.Context.Message.Reason == LlmJobStopReason.Expired));

        await test.FinishAsync(succeeded: 2, failed: 1);

        Assert.True(await test.IsInAsync(test.Machine.Completed));
    }

    [Fact]
    public async Task Should_not_fire_after_the_job_finished_in_time()
    {
        await using var test = await LlmJobSagaHarness.StartAsync();
        await test.AcceptAsync(expiresIn: TimeSpan.FromHours(1));
        await test.FinishAsync(succeeded: 3, failed: 0);
        Assert.True(await test.IsInAsync(test.Machine.Completed));

        await test.Harness.Scope.ServiceProvider.GetRequiredService<MassTransit.InMemoryTransport.IInMemoryDelayProvider>().Advance(TimeSpan.FromHours(2));

        Assert.False(await test.Harness.Published.Any<StopLlmJobItems>(x => x.Context.Message.JobId == test.JobId));
        Assert.True(await test.IsInAsync(test.Machine.Completed));
    }
}
