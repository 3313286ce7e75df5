using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Contracts.ScanSessions;
using Sagas.ScanSessions.StateMachines;

namespace Sagas.Components.Tests.ScanSessions;

public sealed class ScanSessionSagaHarness : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private ScanSessionSagaHarness(ServiceProvider provider, ITestHarness harness)
    {
        _provider = provider;
        Harness = harness;
        Saga = harness.GetSagaStateMachineHarness<ScanSessionStateMachine, ScanSessionState>();
        Machine = provider.GetRequiredService<ScanSessionStateMachine>();
    }

    public ITestHarness Harness { get; }

    public ISagaStateMachineTestHarness<ScanSessionStateMachine, ScanSessionState> Saga { get; }

    public ScanSessionStateMachine Machine { get; }

    public Guid SessionId { get; } = NewId.NextGuid();

    public static async Task<ScanSessionSagaHarness> StartAsync()
    {
        var provider = new ServiceCollection()
            .AddMassTransitTestHarness(x =>
            {
                x.AddSagaStateMachine<ScanSessionStateMachine, ScanSessionState, ScanSessionStateDefinition>().InMemoryRepository();
                x.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
            })
            .BuildServiceProvider(validateScopes: true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        return new ScanSessionSagaHarness(provider, harness);
    }

    public async Task StartSessionAsync()
    {
        await Harness.Bus.Publish(new StartScanSession(SessionId, new ScanSource(S3Prefix: "s3://bucket/drawings/"), ["EB-7"], "tester"));
        Assert.True(await IsInAsync(Machine.Dispatching));
    }

    public async Task ScanningAsync(int totalFiles = 3)
    {
        await StartSessionAsync();
        await Harness.Bus.Publish(new ScanFilesDispatched(SessionId, totalFiles));
        Assert.True(await IsInAsync(Machine.Scanning));
    }

    public async Task ReportingAsync()
    {
        await ScanningAsync();
        await Harness.Bus.Publish(new ScanFilesCompleted(SessionId, 3, 2));
        Assert.True(await IsInAsync(Machine.Reporting));
    }

    public async Task<bool> IsInAsync(State state) => await Saga.Exists(SessionId, _ => state) is not null;

    public async Task<ScanSessionState> InstanceAsync()
    {
        Assert.NotNull(await Saga.Exists(SessionId));
        return Saga.Sagas.Contains(SessionId)!;
    }

    /// <summary>Publishes a message and waits until the saga has consumed it, so a following assertion sees its effect.</summary>
    public async Task DeliverAsync<T>(T message)
        where T : class
    {
        var messageId = NewId.NextGuid();
        await Harness.Bus.Publish(message, context => context.MessageId = messageId);

        // Consumed.Any gives up when the harness sees a moment of inactivity, which a starved machine produces before
        // delivery; the deadline, not inactivity, decides here.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Harness.Consumed.Now<T>(x => x.Context.MessageId == messageId).Any())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{typeof(T).Name} {messageId} was not consumed within 30 s");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        await _provider.DisposeAsync();
    }
}

public sealed class When_a_scan_session_is_started
{
    [Fact]
    public async Task Should_ask_for_dispatch_with_the_source_and_codes()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();

        await test.StartSessionAsync();

        Assert.True(await test.Harness.Published.Any<DispatchScanSession>(x => x.Context.Message.SessionId == test.SessionId));
        await test.Harness.SettleAsync();
        var dispatch = test.Harness.Published.Now<DispatchScanSession>(x => x.Context.Message.SessionId == test.SessionId).Single().Context.Message;
        Assert.Equal("s3://bucket/drawings/", dispatch.Source.S3Prefix);
        Assert.Equal(["EB-7"], dispatch.TargetCodes);
    }

    [Fact]
    public async Task Should_ignore_a_duplicate_start()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();
        await test.StartSessionAsync();

        await test.DeliverAsync(new StartScanSession(test.SessionId, new ScanSource(S3Prefix: "s3://bucket/x/"), ["A-1"], null));

        Assert.True(await test.IsInAsync(test.Machine.Dispatching));
        await test.Harness.SettleAsync();
        Assert.Single(test.Harness.Published.Now<DispatchScanSession>(x => x.Context.Message.SessionId == test.SessionId));
    }
}

public sealed class When_scan_files_are_dispatched
{
    [Fact]
    public async Task Should_be_scanning_with_the_total()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();

        await test.ScanningAsync(totalFiles: 7);

        Assert.Equal(7, (await test.InstanceAsync()).TotalFiles);
    }
}

public sealed class When_every_file_is_counted
{
    [Fact]
    public async Task Should_ask_for_the_report()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();

        await test.ReportingAsync();

        Assert.True(await test.Harness.Published.Any<BuildScanReport>(x => x.Context.Message.SessionId == test.SessionId));
        var state = await test.InstanceAsync();
        Assert.Equal(3, state.TotalProcessed);
        Assert.Equal(2, state.TotalMatches);
    }

    [Fact]
    public async Task Should_report_even_when_the_count_overtakes_the_dispatch_event()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();
        await test.StartSessionAsync();

        await test.Harness.Bus.Publish(new ScanFilesCompleted(test.SessionId, 2, 0));
        Assert.True(await test.IsInAsync(test.Machine.Reporting));
        await test.DeliverAsync(new ScanFilesDispatched(test.SessionId, 2));

        Assert.True(await test.IsInAsync(test.Machine.Reporting));
        await test.Harness.SettleAsync();
        Assert.Single(test.Harness.Published.Now<BuildScanReport>(x => x.Context.Message.SessionId == test.SessionId));
    }

    [Fact]
    public async Task Should_ask_for_the_report_once_for_a_duplicate_count()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();
        await test.ReportingAsync();

        await test.DeliverAsync(new ScanFilesCompleted(test.SessionId, 3, 2));

        await test.Harness.SettleAsync();
        Assert.Single(test.Harness.Published.Now<BuildScanReport>(x => x.Context.Message.SessionId == test.SessionId));
    }

    [Fact]
    public async Task Should_not_be_cancelled_any_more()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();
        await test.ReportingAsync();

        await test.DeliverAsync(new CancelScanSession(test.SessionId));

        Assert.True(await test.IsInAsync(test.Machine.Reporting));
        await test.Harness.SettleAsync();
        Assert.Single(test.Harness.Published.Now<BuildScanReport>(x => x.Context.Message.SessionId == test.SessionId));
    }
}

public sealed class When_the_report_is_built
{
    [Fact]
    public async Task Should_complete_and_announce_the_outcome()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();
        await test.ReportingAsync();

        await test.Harness.Bus.Publish(new ScanReportBuilt(test.SessionId, "scan-reports/x.xlsx"));

        Assert.True(await test.IsInAsync(test.Machine.Completed));
        Assert.True(await test.Harness.Published.Any<ScanSessionCompleted>(x => x.Context.Message.SessionId == test.SessionId));
        await test.Harness.SettleAsync();
        var completed = test.Harness.Published.Now<ScanSessionCompleted>(x => x.Context.Message.SessionId == test.SessionId).Single().Context.Message;
        Assert.Equal(new ScanSessionCompleted(test.SessionId, "scan-reports/x.xlsx", 2, 3), completed);
    }

    [Fact]
    public async Task Should_announce_once_for_a_duplicate()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();
        await test.ReportingAsync();
        await test.Harness.Bus.Publish(new ScanReportBuilt(test.SessionId, "scan-reports/x.xlsx"));
        Assert.True(await test.IsInAsync(test.Machine.Completed));

        await test.DeliverAsync(new ScanReportBuilt(test.SessionId, "scan-reports/x.xlsx"));
        await test.DeliverAsync(new ScanFilesCompleted(test.SessionId, 3, 2));

        Assert.True(await test.IsInAsync(test.Machine.Completed));
        await test.Harness.SettleAsync();
        Assert.Single(test.Harness.Published.Now<ScanSessionCompleted>(x => x.Context.Message.SessionId == test.SessionId));
        await test.Harness.SettleAsync();
        Assert.Single(test.Harness.Published.Now<BuildScanReport>(x => x.Context.Message.SessionId == test.SessionId));
    }
}

public sealed class When_a_scan_session_fails
{
    [Fact]
    public async Task Should_fail_from_dispatching_with_the_reason()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();
        await test.StartSessionAsync();

        await test.Harness.Bus.Publish(new ScanSessionFailed(test.SessionId, "The source lists no file to scan."));

        Assert.True(await test.IsInAsync(test.Machine.Failed));
        Assert.Equal("The source lists no file to scan.", (await test.InstanceAsync()).FailureReason);
    }

    [Fact]
    public async Task Should_fail_from_reporting_and_ignore_a_late_report()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();
        await test.ReportingAsync();
        await test.Harness.Bus.Publish(new ScanSessionFailed(test.SessionId, "disk full"));
        Assert.True(await test.IsInAsync(test.Machine.Failed));

        await test.DeliverAsync(new ScanReportBuilt(test.SessionId, "scan-reports/x.xlsx"));

        Assert.True(await test.IsInAsync(test.Machine.Failed));
        Assert.False(await test.Harness.Published.Any<ScanSessionCompleted>(x => x.Context.Message.SessionId == test.SessionId));
    }
}

public sealed class When_a_scan_session_is_cancelled
{
    [Fact]
    public async Task Should_report_when_the_last_file_reached_the_row_before_the_cancel()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();
        await test.ScanningAsync();

        // The request alone decides nothing: the cancel consumer found the row already reporting and said nothing.
        await test.DeliverAsync(new CancelScanSession(test.SessionId));
        Assert.True(await test.IsInAsync(test.Machine.Scanning));
        await test.DeliverAsync(new ScanFilesCompleted(test.SessionId, 3, 0));

        Assert.True(await test.IsInAsync(test.Machine.Reporting));
        await test.Harness.SettleAsync();
        Assert.Single(test.Harness.Published.Now<BuildScanReport>(x => x.Context.Message.SessionId == test.SessionId));
    }

    [Fact]
    public async Task Should_cancel_while_scanning_once_the_row_is_cancelled()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();
        await test.ScanningAsync();

        await test.Harness.Bus.Publish(new ScanSessionCancelled(test.SessionId));

        Assert.True(await test.IsInAsync(test.Machine.Cancelled));
        Assert.NotNull((await test.InstanceAsync()).FinishedAt);
        Assert.False(await test.Harness.Published.Any<BuildScanReport>(x => x.Context.Message.SessionId == test.SessionId));
    }

    [Fact]
    public async Task Should_cancel_while_dispatching_once_the_row_is_cancelled()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();
        await test.StartSessionAsync();

        await test.Harness.Bus.Publish(new ScanSessionCancelled(test.SessionId));

        Assert.True(await test.IsInAsync(test.Machine.Cancelled));
    }

    [Fact]
    public async Task Should_ignore_a_row_cancel_once_reporting()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();
        await test.ReportingAsync();

        await test.DeliverAsync(new ScanSessionCancelled(test.SessionId));

        Assert.True(await test.IsInAsync(test.Machine.Reporting));
    }

    [Fact]
    public async Task Should_stay_cancelled_when_the_row_was_cancelled_before_the_start()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();
        await test.Harness.Bus.Publish(new ScanSessionCancelled(test.SessionId));
        Assert.True(await test.IsInAsync(test.Machine.Cancelled));

        await test.DeliverAsync(new StartScanSession(test.SessionId, new ScanSource(S3Prefix: "s3://bucket/drawings/"), ["EB-7"], "tester"));

        Assert.True(await test.IsInAsync(test.Machine.Cancelled));
        Assert.False(await test.Harness.Published.Any<DispatchScanSession>(x => x.Context.Message.SessionId == test.SessionId));
    }

    [Fact]
    public async Task Should_discard_a_cancel_request_for_an_unknown_session()
    {
        await using var test = await ScanSessionSagaHarness.StartAsync();

        await test.DeliverAsync(new CancelScanSession(test.SessionId));

        Assert.False(test.Saga.Sagas.Select(x => x.CorrelationId == test.SessionId).Any());
    }
}
