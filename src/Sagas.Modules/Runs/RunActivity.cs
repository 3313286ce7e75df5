namespace Sagas.Modules.Runs;

public static class RunActivity
{
    /// <summary>Counts timestamps per minute: what a workflow's <see cref="WorkflowRuns.ActivityAsync"/> returns.</summary>
    public static IReadOnlyList<RunActivityMinute> PerMinute(string activity, IEnumerable<(DateTimeOffset At, bool Failed)> events) =>
        events
            .GroupBy(e => new DateTimeOffset(e.At.UtcTicks - e.At.UtcTicks % TimeSpan.TicksPerMinute, TimeSpan.Zero))
            .OrderBy(g => g.Key)
            .Select(g => new RunActivityMinute(g.Key, activity, g.Count(), g.Count(e => e.Failed)))
            .ToList();

    /// <summary>The most detail rows one run's activity reads: the timeline summarises, it does not page.</summary>
    public const int MaxRows = 200_000;
}
