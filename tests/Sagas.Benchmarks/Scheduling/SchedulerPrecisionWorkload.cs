using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using MassTransit;
using MassTransit.Scheduling;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Quartz;
using Sagas.Hosting;
using Sagas.Messaging.Scheduling;
using Sagas.Messaging.Scheduling.Endpoint;
using Sagas.Workflows;

namespace Sagas.Benchmarks.Scheduling;

/// <summary>
/// How late the scheduler endpoint delivers, against the instant each message was scheduled for: a recurring schedule
/// every second, and many one-off schedules due within one minute, through the production path (scheduler queue on
/// RabbitMQ, Quartz's clustered PostgreSQL store, the send at fire time, the destination's consumer).
/// </summary>
internal sealed class SchedulerPrecisionWorkload : IWorkload
{
    private const string ProbeQueue = "bench-scheduler-probe";
    private static readonly Uri ProbeAddress = new($"queue:{ProbeQueue}");
    private static readonly Uri SchedulerQueue = new("queue:scheduler");

    public string Name => "scheduler-precision";

    public string Description => "lateness of scheduled deliveries (RabbitMQ + PostgreSQL clustered Quartz store): a recurring schedule every second, and one-off schedules due within one minute. [--quick] [--seconds N] [--one-offs N] [--lead-seconds N] [--set=Section:Key=value]";

    public async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var seconds = BenchmarkArguments.Int(args, "--seconds", quick ? 10 : 300);
        var oneOffs = BenchmarkArguments.Int(args, "--one-offs", quick ? 500 : 10_000);
        // Storing runs at about 90 requests/s on 2 cores (one Quartz transaction each): 10,000 take nearly two minutes.
        var lead = TimeSpan.FromSeconds(BenchmarkArguments.Int(args, "--lead-seconds", quick ? 20 : 240));
        var window = quick ? TimeSpan.FromSeconds(10) : TimeSpan.FromMinutes(1);

        await using var database = await BenchmarkServers.CreateDatabaseAsync();
        await using var broker = await BenchmarkServers.CreateVirtualHostAsync();
        var deliveries = new Deliveries();
        using var host = BuildHost(broker.Address, database.ConnectionString, deliveries, BenchmarkArguments.Settings(args));
        await host.StartAsync();

        Console.WriteLine($"# scheduler-precision: a schedule every second for {seconds:N0} s, and {oneOffs:N0} one-off schedules due within {window.TotalSeconds:N0} s (RabbitMQ + PostgreSQL, clustered Quartz store, one scheduler process)");
        Console.WriteLine(BenchmarkMachine.Describe());
        Console.WriteLine();
        try
        {
            var recurring = await RecurringAsync(host.Services, deliveries, seconds);
            var (oneOff, storing) = await OneOffsAsync(host.Services, deliveries, oneOffs, lead, window);

            Console.WriteLine("| schedule | delivered | expected | p50 late (ms) | p99 late (ms) | max late (ms) | fired p50 (ms) | fired p99 (ms) | early | lost | twice |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            Console.WriteLine(recurring.Row($"recurring, every second for {seconds:N0} s"));
            Console.WriteLine(oneOff.Row($"{oneOffs:N0} one-offs due within {window.TotalSeconds:N0} s"));
            Console.WriteLine();
            Console.WriteLine(storing);
            Console.WriteLine("Late = received by the destination's consumer minus the instant scheduled (recurring: the fire time Quartz scheduled, MT-Quartz-Scheduled; one-off: the due time the message carries); fired = when the scheduler sent it (MT-Quartz-Sent; a trigger fired ahead of its time waits for it first) minus the same instant, the scheduler's share of the lateness. Targets: p50 ≤ 50 ms, p99 ≤ 250 ms, none early, none lost.");
            Console.WriteLine($"load average after: {BenchmarkMachine.LoadAverage()}");
            return recurring.Lost == 0 && oneOff.Lost == 0 ? 0 : 1;
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static async Task<Lateness> RecurringAsync(IServiceProvider services, Deliveries deliveries, int seconds)
    {
        var schedule = new EverySecond($"bench-{Guid.NewGuid():N}", "bench");
        var endpoint = await services.GetRequiredService<ISendEndpointProvider>().GetSendEndpoint(SchedulerQueue);
        var id = Guid.NewGuid();
        await endpoint.ScheduleRecurringSend(ProbeAddress, schedule, new SchedulerProbe(id, null));
        var first = await deliveries.FirstAsync(id, TimeSpan.FromSeconds(30));
        var firstScheduled = first.Scheduled ?? throw new BenchmarkSetupException($"the recurring fire carried no {MessageHeaders.Quartz.Scheduled} header.");

        // Owed: every second from the first fire on (so storing the schedule does not count as lateness). It is cancelled
        // only well after the last owed fire, so a late fire is measured rather than cancelled.
        var until = firstScheduled + TimeSpan.FromSeconds(seconds + 4);
        while (DateTimeOffset.UtcNow < until)
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        await endpoint.CancelScheduledRecurringSend(schedule.ScheduleId, schedule.ScheduleGroup);
        await Task.Delay(TimeSpan.FromSeconds(2));

        // Every second from the first scheduled fire to the last one inside the window is owed exactly once.
        var received = deliveries.Of(id).Where(d => d.Scheduled is not null && d.Scheduled <= firstScheduled.AddSeconds(seconds - 1)).ToList();
        var owed = Enumerable.Range(0, seconds).Select(i => firstScheduled.AddSeconds(i)).ToHashSet();
        var distinct = received.Select(d => d.Scheduled!.Value).ToHashSet();
        return Lateness.Of(
            received.Select(d => (d.ReceivedAt - d.Scheduled!.Value).TotalMilliseconds).ToList(),
            received.Where(d => d.Fired is not null).Select(d => (d.Fired!.Value - d.Scheduled!.Value).TotalMilliseconds).ToList(),
            expected: seconds,
            lost: owed.Count(instant => !distinct.Contains(instant)),
            twice: received.Count - distinct.Count);
    }

    private static async Task<(Lateness Result, string Storing)> OneOffsAsync(IServiceProvider services, Deliveries deliveries, int count, TimeSpan lead, TimeSpan window)
    {
        var scheduler = services.GetRequiredService<IMessageScheduler>();
        var start = DateTimeOffset.UtcNow;
        var firstDue = start + lead;
        var probes = Enumerable.Range(0, count)
            .Select(i => new SchedulerProbe(Guid.NewGuid(), firstDue + TimeSpan.FromTicks(window.Ticks * i / count)))
            .ToList();

        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(probes, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (probe, token) =>
            await scheduler.ScheduleSend(ProbeAddress, probe.Due!.Value.UtcDateTime, probe, token));
        var sent = clock.Elapsed;

        var quartz = await services.GetRequiredService<SchedulerLifecycle>().GetSchedulerAsync(CancellationToken.None);
        while ((await quartz.GetTriggerKeys(GroupMatcher<TriggerKey>.GroupEquals(ScheduledJobData.OneOffGroup))).Count < count && DateTimeOffset.UtcNow < firstDue)
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        var stored = clock.Elapsed;
        var storing = string.Create(CultureInfo.InvariantCulture,
            $"Storing {count:N0} one-off requests: sent in {sent.TotalSeconds:N1} s, stored (or the first due time reached) after {stored.TotalSeconds:N1} s, {count / stored.TotalSeconds:N0} requests/s; first due {lead.TotalSeconds:N0} s after the first request.");
        if (start + stored >= firstDue)
            storing += " NOT ALL STORED BEFORE THE FIRST DUE TIME: raise --lead-seconds; lateness includes the backlog.";

        var deadline = firstDue + window + TimeSpan.FromMinutes(2);
        var ids = probes.Select(p => p.Id).ToHashSet();
        while (deliveries.CountOf(ids) < count && DateTimeOffset.UtcNow < deadline)
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        // Copies after the last first delivery are what "twice" counts.
        await Task.Delay(TimeSpan.FromSeconds(2));

        var received = probes.SelectMany(p => deliveries.Of(p.Id)).ToList();
        var firstDeliveries = received.GroupBy(d => d.Id).Select(g => g.MinBy(d => d.ReceivedAt)!).ToList();
        return (Lateness.Of(
            firstDeliveries.Select(d => (d.ReceivedAt - d.Due!.Value).TotalMilliseconds).ToList(),
            firstDeliveries.Where(d => d.Fired is not null).Select(d => (d.Fired!.Value - d.Due!.Value).TotalMilliseconds).ToList(),
            expected: count,
            lost: count - firstDeliveries.Count,
            twice: received.Count - firstDeliveries.Count), storing);
    }

    private static IHost BuildHost(Uri broker, string connectionString, Deliveries deliveries, IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Messaging:Transport"] = "RabbitMq",
            ["Messaging:RabbitMq:Uri"] = broker.ToString(),
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = connectionString,
            ["Worker:Roles"] = "scheduler",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton(deliveries);
        builder.AddSagas("scheduler-precision-benchmark", SagasWorkflows.Catalog,
            x => x.AddConsumer<ProbeConsumer>().Endpoint(e => e.Name = ProbeQueue));
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        return builder.Build();
    }

    public sealed record SchedulerProbe(Guid Id, DateTimeOffset? Due);

    /// <param name="Fired">When the scheduler sent it (MT-Quartz-Sent): splits lateness into the scheduler's and the send's.</param>
    private sealed record Delivery(Guid Id, DateTimeOffset? Due, DateTimeOffset? Scheduled, DateTimeOffset? Fired, DateTimeOffset ReceivedAt);

    private sealed class Deliveries
    {
        private readonly ConcurrentDictionary<Guid, ConcurrentQueue<Delivery>> _byId = new();

        public void Add(Delivery delivery) => _byId.GetOrAdd(delivery.Id, _ => new ConcurrentQueue<Delivery>()).Enqueue(delivery);

        public IReadOnlyList<Delivery> Of(Guid id) => _byId.TryGetValue(id, out var queue) ? [.. queue] : [];

        public int CountOf(HashSet<Guid> ids) => ids.Count(_byId.ContainsKey);

        public async Task<Delivery> FirstAsync(Guid id, TimeSpan timeout)
        {
            var deadline = DateTimeOffset.UtcNow + timeout;
            while (true)
            {
                if (Of(id) is [var first, ..])
                    return first;
                if (DateTimeOffset.UtcNow > deadline)
                    throw new BenchmarkSetupException($"the recurring schedule did not fire within {timeout.TotalSeconds:N0} s: is the scheduler role running?");
                await Task.Delay(TimeSpan.FromMilliseconds(20));
            }
        }
    }

    private sealed class ProbeConsumer(Deliveries deliveries) : IConsumer<SchedulerProbe>
    {
        public Task Consume(ConsumeContext<SchedulerProbe> context)
        {
            var receivedAt = DateTimeOffset.UtcNow;
            deliveries.Add(new Delivery(context.Message.Id, context.Message.Due,
                Instant(context, MessageHeaders.Quartz.Scheduled), Instant(context, MessageHeaders.Quartz.Sent), receivedAt));
            return Task.CompletedTask;
        }

        private static DateTimeOffset? Instant(ConsumeContext context, string header) =>
            context.Headers.TryGetHeader(header, out var value)
                ? value switch
                {
                    DateTimeOffset offset => offset.ToUniversalTime(),
                    DateTime time => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
                    string text when DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed) => parsed,
                    _ => null,
                }
                : null;
    }

    private sealed record EverySecond(string ScheduleId, string ScheduleGroup) : RecurringSchedule
    {
        public string CronExpression => "* * * * * ?";

        public string TimeZoneId => "UTC";

        public DateTimeOffset StartTime => DateTimeOffset.UtcNow;

        public DateTimeOffset? EndTime => null;

        public string Description => "scheduler-precision benchmark";

        public MissedEventPolicy MisfirePolicy => MissedEventPolicy.Send;
    }

    private sealed record Lateness(int Delivered, int Expected, double P50, double P99, double Max, double FiredP50, double FiredP99, int Early, int Lost, int Twice)
    {
        public static Lateness Of(List<double> lateMilliseconds, List<double> firedLateMilliseconds, int expected, int lost, int twice)
        {
            lateMilliseconds.Sort();
            firedLateMilliseconds.Sort();
            return new Lateness(lateMilliseconds.Count, expected, At(lateMilliseconds, 0.50), At(lateMilliseconds, 0.99), At(lateMilliseconds, 1),
                At(firedLateMilliseconds, 0.50), At(firedLateMilliseconds, 0.99), lateMilliseconds.Count(late => late < 0), lost, twice);
        }

        private static double At(List<double> sorted, double quantile) => sorted.Count == 0
            ? double.NaN
            : sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Count) - 1, 0, sorted.Count - 1)];

        public string Row(string title) => string.Create(CultureInfo.InvariantCulture,
            $"| {title} | {Delivered:N0} | {Expected:N0} | {P50:N0} | {P99:N0} | {Max:N0} | {FiredP50:N0} | {FiredP99:N0} | {Early:N0} | {Lost:N0} | {Twice:N0} |");
    }
}
