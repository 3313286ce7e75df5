using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;

namespace Sagas.Modules;

/// <summary>A named group of consumers a process can run; <c>Worker:Roles</c> picks among them.</summary>
/// <param name="Name">kebab-case, unique across the system, e.g. <c>scan-files</c>.</param>
/// <param name="Description">One line for operators (docs and the system page).</param>
public sealed record WorkerRole(string Name, string Description);

/// <summary>The roles a process runs, parsed once from <c>Worker:Roles</c> against the roles the system knows.</summary>
public sealed class WorkerRoles
{
    public const string AllKeyword = "all";
    public const string NoneKeyword = "none";

    private readonly List<string> _enabled;

    private WorkerRoles(IEnumerable<string> enabled, IReadOnlyList<WorkerRole> known)
    {
        _enabled = enabled.Distinct(StringComparer.Ordinal).ToList();
        Known = known;
    }

    /// <summary>Every role of this build, in the order they are documented and listed.</summary>
    public IReadOnlyList<WorkerRole> Known { get; }

    /// <summary>The enabled roles, in the order configured.</summary>
    public IReadOnlyList<string> Enabled => _enabled;

    public bool Runs(string role) => _enabled.Contains(role);

    public bool Runs(WorkerRole role) => _enabled.Contains(role.Name);

    public bool RunsAny => _enabled.Count > 0;

    public static WorkerRoles Everything(IReadOnlyList<WorkerRole> known) => new(known.Select(role => role.Name), known);

    public static WorkerRoles Parse(string? value, IReadOnlyList<WorkerRole> known)
    {
        var names = (value ?? AllKeyword)
            .Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(name => name.ToLowerInvariant())
            .ToList();

        if (names.Count == 0 || names.Contains(AllKeyword))
            return Everything(known);
        if (names is [NoneKeyword])
            return new WorkerRoles([], known);

        var unknown = names.Where(name => !known.Any(role => role.Name == name)).ToList();
        if (unknown.Count > 0)
        {
            throw new SagasConfigurationException(
                $"Worker:Roles names unknown role(s) {string.Join(", ", unknown.Select(u => $"'{u}'"))}. " +
                $"Allowed: {AllKeyword}, {NoneKeyword}, or a comma-separated list of {string.Join(", ", known.Select(role => role.Name))}.");
        }

        return new WorkerRoles(names, known);
    }

    public static WorkerRoles Read(IConfiguration configuration, IReadOnlyList<WorkerRole> known)
    {
        var options = configuration.ReadValidatedOptions<WorkerOptions>(WorkerOptions.SectionName);
        return Parse(options.Roles, known);
    }

    public override string ToString() => _enabled.Count == 0 ? NoneKeyword : string.Join(",", Enabled);
}
