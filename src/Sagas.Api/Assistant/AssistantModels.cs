using System.Text.Json;
using Sagas.Modules.Assistant;

namespace Sagas.Api.Assistant;

public sealed record AskRequest(string? Prompt);

/// <summary>One tool the assistant ran: what it asked and what our data answered (or the error the model was shown).</summary>
public sealed record AssistantToolCall(string Name, JsonElement Arguments, JsonElement? Result, string? Error);

/// <summary>The answer; <see cref="Simulated"/> is true when no language model wrote it.</summary>
public sealed record AskResponse(string Answer, IReadOnlyList<AssistantToolCall> ToolCalls, bool Simulated, string Model, int Rounds);

/// <summary>Answers one prompt, calling read-only tools over our data as it sees fit.</summary>
public interface IAssistant
{
    Task<AskResponse> AskAsync(string prompt, CancellationToken cancellationToken);
}

/// <summary>The language model could not be reached or refused the request.</summary>
public sealed class AssistantUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Runs a registered tool by name, turning every outcome into something the model (and the caller) can read.</summary>
public sealed class AssistantToolRunner(AssistantToolRegistry tools, ILogger<AssistantToolRunner> logger)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<(AssistantToolCall Call, object? Result)> RunAsync(string name, string argumentsJson, CancellationToken cancellationToken)
    {
        JsonElement arguments;
        try
        {
            arguments = string.IsNullOrWhiteSpace(argumentsJson) ? JsonSerializer.SerializeToElement(new { }) : JsonSerializer.Deserialize<JsonElement>(argumentsJson);
        }
        catch (JsonException)
        {
            return (new AssistantToolCall(name, JsonSerializer.SerializeToElement(argumentsJson), null, "The arguments are not valid JSON."), null);
        }

        var tool = tools.Find(name);
        if (tool is null)
            return (new AssistantToolCall(name, arguments, null, $"There is no tool named '{name}'."), null);

        try
        {
            var result = await tool.InvokeAsync(arguments, cancellationToken);
            return (new AssistantToolCall(name, arguments, JsonSerializer.SerializeToElement(result, result.GetType(), Json), null), result);
        }
        catch (AssistantToolArgumentException exception)
        {
            return (new AssistantToolCall(name, arguments, null, exception.Message), null);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The model sees that the tool failed, not why: database messages are not for it (nor for the caller).
            logger.LogError(exception, "Assistant tool {Tool} failed", name);
            return (new AssistantToolCall(name, arguments, null, "The tool failed; the failure is logged."), null);
        }
    }
}
