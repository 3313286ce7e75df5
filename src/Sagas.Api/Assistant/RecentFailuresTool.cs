using System.Text.Json;
using Sagas.Modules.Assistant;

namespace Sagas.Api.Assistant;

public sealed record RecentFailures(int Limit, IReadOnlyList<RecentFailure> Failures);

/// <summary>The newest failures across every workflow's <see cref="IRecentFailureSource"/>, newest first.</summary>
public sealed class RecentFailuresTool(IEnumerable<IRecentFailureSource> sources, TimeProvider clock) : DataTool(clock)
{
    private const int MaxLimit = 20;
    private const string AllSources = "all";

    private readonly IReadOnlyList<IRecentFailureSource> _sources = [.. sources];

    public override string Name => "recent_failures";

    public override string Description =>
        "The most recent failures, newest first: " + JoinWithAnd(_sources.Select(s => s.Description)) + ".";

    public override string ParametersSchema =>
        $$"""
        {
          "type": "object",
          "properties": {
            "source": { "type": "string", "enum": {{JsonSerializer.Serialize(SourceNames)}}, "description": "Which failures to list." },
            "limit": { "type": "integer", "minimum": 1, "maximum": {{MaxLimit}}, "description": "How many to return." }
          },
          "required": ["source", "limit"],
          "additionalProperties": false
        }
        """;

    public override IReadOnlyList<string> Keywords { get; } = ["fail", "error", "broke", "wrong"];

    private string[] SourceNames => [AllSources, .. _sources.Select(s => s.Name)];

    public override JsonElement SimulatedArguments(string prompt, AssistantPeriod period)
    {
        var text = prompt.ToLowerInvariant();
        var source = _sources.Reverse().FirstOrDefault(s => text.Contains(s.PromptWord, StringComparison.Ordinal))?.Name ?? AllSources;
        return JsonSerializer.SerializeToElement(new { source, limit = 5 });
    }

    public override async Task<object> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        var source = AssistantPeriod.ReadString(arguments, "source") ?? AllSources;
        if (!SourceNames.Contains(source))
            throw new AssistantToolArgumentException($"Unknown source '{source}'; one of: {string.Join(", ", SourceNames)}.");
        var limit = arguments.ValueKind == JsonValueKind.Object && arguments.TryGetProperty("limit", out var l) && l.TryGetInt32(out var n) ? n : 5;
        limit = Math.Clamp(limit, 1, MaxLimit);

        var failures = new List<RecentFailure>();
        foreach (var failureSource in _sources.Where(s => source == AllSources || s.Name == source))
            failures.AddRange(await failureSource.ListAsync(limit, cancellationToken));

        return new RecentFailures(limit, [.. failures.OrderByDescending(f => f.FinishedAt ?? f.CreatedAt).Take(limit).Select(f => f with { Error = Clip(f.Error) })]);
    }

    public override string Describe(object result) => result is RecentFailures r
        ? r.Failures.Count == 0
            ? "No failures are recorded."
            : $"The {r.Failures.Count} most recent failure(s): " + string.Join("; ", r.Failures.Select(f => $"{f.Kind} {f.Id} ({f.FinishedAt ?? f.CreatedAt:yyyy-MM-dd HH:mm} UTC): {f.Error ?? "no error recorded"}")) + "."
        : "";

    private static string? Clip(string? text) => text is { Length: > 300 } ? text[..300] + "…" : text;

    private static string JoinWithAnd(IEnumerable<string> parts)
    {
        var list = parts.ToList();
        return list.Count <= 1 ? string.Concat(list) : string.Join(", ", list[..^1]) + " and " + list[^1];
    }
}
