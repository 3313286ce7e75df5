using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;

namespace Sagas.Hosting.Workers;

/// <summary>The consumer groups a process can run; parsed once from <c>Worker:Roles</c>.</summary>
public sealed class WorkerRoles
{
    public const string AllKeyword = "all";
    public const string NoneKeyword = "none";

    /// <summary>LLM job saga, provider submission, polling and result application.</summary>
    public const string LlmJobs = "llm-jobs";

    /// <summary>Scan session saga, dispatcher and report builder.</summary>
    public const string ScanSessions = "scan-sessions";

    /// <summary>Per-file scanning workers; the role to scale out.</summary>
    public const string ScanFiles = "scan-files";

    /// <summary>Prompt analysis runs, analysis saga and platform calls.</summary>
    public const string PromptAnalyses = "prompt-analyses";

    /// <summary>The Quartz scheduler endpoint and the recurring schedules.</summary>
    public const string Scheduler = "scheduler";

    /// <summary>Outgoing webhooks on finished work (no queues at all while no endpoint is configured).</summary>
    public const string Notifications = "notifications";

    public static IReadOnlyList<string> All { get; } = [LlmJobs, ScanSessions, ScanFiles, PromptAnalyses, Scheduler, Notifications];

    private readonly HashSet<string> _enabled;

    private WorkerRoles(IEnumerable<string> enabled) => _enabled = new HashSet<string>(enabled, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Enabled => _enabled;

    public bool Runs(string role) => _enabled.Contains(role);

    public bool RunsAny => _enabled.Count > 0;

    public static WorkerRoles Everything { get; } = new(All);

    public static WorkerRoles Parse(string? value)
    {
        var names = (value ?? AllKeyword)
            .Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(name => name.ToLowerInvariant())
            .ToList();

        if (names.Count == 0 || names.Contains(AllKeyword))
            return Everything;
        if (names is [NoneKeyword])
            return new WorkerRoles([]);

        var unknown = names.Where(name => !All.Contains(name)).ToList();
        if (unknown.Count > 0)
        {
            throw new SagasConfigurationException(
                $"Worker:Roles names unknown role(s) {string.Join(", ", unknown.Select(u => $"'{u}'"))}. " +
                $"Allowed: {AllKeyword}, {NoneKeyword}, or a comma-separated list of {string.Join(", ", All)}.");
        }

        return new WorkerRoles(names);
    }

    public static WorkerRoles Read(IConfiguration configuration)
    {
        var options = new WorkerOptions();
        configuration.GetSection(WorkerOptions.SectionName).Bind(options);
        return Parse(options.Roles);
    }

    public override string ToString() => _enabled.Count == 0 ? NoneKeyword : string.Join(",", _enabled);
}
