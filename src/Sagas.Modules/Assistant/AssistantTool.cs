using System.Text.Json;

namespace Sagas.Modules.Assistant;

/// <summary>
/// One read-only question the assistant may ask our data. A tool takes JSON arguments that match its schema, runs a
/// fixed, parameterised query and returns a JSON-serialisable result; it never accepts query text. Register one with
/// <see cref="AssistantToolRegistration.AddAssistantTool{TTool}"/>: the assistant offers every registered tool to its
/// model, whichever provider that is; the simulated model picks them by <see cref="Keywords"/>.
/// </summary>
public interface IAssistantTool
{
    /// <summary>snake_case, unique; the name the model calls.</summary>
    string Name { get; }

    /// <summary>What the tool answers, for the model.</summary>
    string Description { get; }

    /// <summary>JSON schema of the arguments object (strict: every property required, nullable where optional).</summary>
    string ParametersSchema { get; }

    /// <summary>Words that make the simulated assistant pick this tool (lower case; matched as substrings of the prompt).</summary>
    IReadOnlyList<string> Keywords { get; }

    /// <summary>Arguments the simulated assistant passes, read from the prompt (the period, mostly).</summary>
    JsonElement SimulatedArguments(string prompt, AssistantPeriod period);

    /// <summary>
    /// Runs the query. Bad arguments throw <see cref="AssistantToolArgumentException"/>: its message is what the model
    /// is told, and it may retry. Any other exception is logged and the model hears only that the tool failed.
    /// </summary>
    Task<object> InvokeAsync(JsonElement arguments, CancellationToken cancellationToken);

    /// <summary>One sentence stating the result, for the simulated assistant's composed answer.</summary>
    string Describe(object result);
}

public sealed class AssistantToolArgumentException(string message) : Exception(message);

/// <summary>The tools registered in this process, by name.</summary>
public sealed class AssistantToolRegistry
{
    private readonly Dictionary<string, IAssistantTool> _tools;

    public AssistantToolRegistry(IEnumerable<IAssistantTool> tools)
    {
        _tools = new Dictionary<string, IAssistantTool>(StringComparer.Ordinal);
        foreach (var tool in tools)
        {
            if (!_tools.TryAdd(tool.Name, tool))
                throw new InvalidOperationException($"Two assistant tools are named '{tool.Name}'.");
        }
    }

    public IReadOnlyCollection<IAssistantTool> All => _tools.Values;

    public IAssistantTool? Find(string name) => _tools.GetValueOrDefault(name);
}
