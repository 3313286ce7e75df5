using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Contracts.LlmJobs;

namespace Sagas.Components.Tests.LlmJobs;

public sealed class When_an_llm_job_reaches_its_budget
{
    private const string Reason = "run budget of $0.50 reached: $0.48 spent, $0.00 reserved, next call estimated $0.04";

    [Fact]
    public async Task Should_pause_with_the_reason_and_ignore_a_duplicate_pause()
    {
        await using var test = await RunningAsync();

        await test.Harness.Bus.Publish(new LlmJobPaused(test.JobId, Reason));
        await test.Harness.Bus.Publish(new LlmJobPaused(test.JobId, "a late copy"));

        Assert.True(await test.Saga.Consumed.Any<LlmJobPaused>(x => x.Context.Message.Reason == "a late copy"));
        Assert.True(await test.IsInAsync(test.Machine.Paused));
        Assert.Equal(Reason, test.Saga.Sagas.Contains(test.JobId)!.PausedReason);
    }

    [Fact]
    public async Task Should_send_its_queued_items_again_when_resumed()
    {
        await using var test = await PausedAsync();

        await test.Harness.Bus.Publish(new ResumeLlmJob(test.JobId));

        Assert.True(await test.IsInAsync(test.Machine.Running));
        Assert.Null(test.Saga.Sagas.Contains(test.JobId)!.PausedReason);
        await test.Harness.SettleAsync();
        // One from the acceptance, one from the resume.
        Assert.Equal(2, test.Harness.Published.Now<StartLlmJobItems>(x => x.Context.Message.JobId == test.JobId).Count());
    }

    [Fact]
    public async Task Should_still_be_cancelled_while_paused()
    {
        await using var test = await PausedAsync();

        await test.Harness.Bus.Publish(new CancelLlmJob(test.JobId, "over budget"));

        Assert.True(await test.IsInAsync(test.Machine.Stopping));
        Assert.True(await test.Harness.Published.Any<StopLlmJobItems>(x => x.Context.Message.JobId == test.JobId && x.Context.Message.Reason == LlmJobStopReason.Cancelled));
        await test.FinishAsync(succeeded: 1, failed: 0, cancelled: 2, status: "cancelled");
        Assert.True(await test.IsInAsync(test.Machine.Cancelled));
    }

    [Fact]
    public async Task Should_still_expire_at_its_deadline_while_paused()
    {
        await using var test = await PausedAsync();

        await test.DeadlineScheduledAsync();
        await test.Harness.Scope.ServiceProvider.GetRequiredService<MassTransit.InMemoryTransport.IInMemoryDelayProvider>().Advance(TimeSpan.FromHours(24));

        Assert.True(await test.IsInAsync(test.Machine.Stopping));
        Assert.True(await test.Harness.Published.Any<StopLlmJobItems>(x => x.Context.Message.JobId == test.JobId && x.Context.Message.Reason == LlmJobStopReason.Expired));
    }

    [Fact]
    public async Task Should_ignore_a_pause_and_a_resume_after_it_finished()
    {
        await using var test = await PausedAsync();
        await test.FinishAsync(succeeded: 3, failed: 0, status: "completed");
        Assert.True(await test.IsInAsync(test.Machine.Completed));

        await test.Harness.Bus.Publish(new LlmJobPaused(test.JobId, Reason));
        await test.Harness.Bus.Publish(new ResumeLlmJob(test.JobId));

        Assert.True(await test.Saga.Consumed.Any<ResumeLlmJob>(x => x.Context.Message.JobId == test.JobId));
        await test.Harness.SettleAsync();
        Assert.True(await test.IsInAsync(test.Machine.Completed));
        Assert.Single(test.Harness.Published.Now<StartLlmJobItems>(x => x.Context.Message.JobId == test.JobId));
    }

    private static async Task<LlmJobSagaHarness> RunningAsync()
    {
        var test = await LlmJobSagaHarness.StartAsync();
        await test.AcceptAsync(expiresIn: TimeSpan.FromHours(24));
        await test.Harness.Bus.Publish(new LlmJobStarted(test.JobId, 3, 0));
        Assert.True(await test.IsInAsync(test.Machine.Running));
        return test;
    }

    private static async Task<LlmJobSagaHarness> PausedAsync()
    {
        var test = await RunningAsync();
        await test.Harness.Bus.Publish(new LlmJobPaused(test.JobId, Reason));
        Assert.True(await test.IsInAsync(test.Machine.Paused));
        return test;
    }
}
