using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;
using Sagas.Modules.Assistant;

namespace Sagas.Api.Assistant;

/// <summary>
/// A workflow's <see cref="IAssistantTool"/> as Microsoft.Extensions.AI offers it to a model: the tool's name,
/// description and argument schema go out as they are, and <see cref="FunctionInvokingChatClient"/> invokes it.
/// One is made per request from the request's scoped tools, so a tool queries the request's DbContext.
/// </summary>
public sealed class AssistantToolFunction(IAssistantTool tool, ILogger logger) : AIFunction
{
    private readonly JsonElement _schema = JsonSerializer.Deserialize<JsonElement>(tool.ParametersSchema);

    public IAssistantTool Tool => tool;

    public override string Name => tool.Name;

    public override string Description => tool.Description;

    public override JsonElement JsonSchema => _schema;

    public override JsonSerializerOptions JsonSerializerOptions => AssistantToolResult.JsonOptions;

    /// <summary>
    /// Runs the tool on the model's arguments. Every outcome is a result the model can read: bad arguments come back as
    /// the tool's own message (the model may retry), a failing tool as a fixed sentence, since database messages are
    /// for the log and not for the model or the caller.
    /// </summary>
    protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.SerializeToElement<IDictionary<string, object?>>(arguments, AssistantToolResult.JsonOptions);
        try
        {
            return AssistantToolResult.Succeeded(tool, await tool.InvokeAsync(json, cancellationToken));
        }
        catch (AssistantToolArgumentException exception)
        {
            return AssistantToolResult.Failed(exception.Message);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogError(exception, "Assistant tool {Tool} failed", tool.Name);
            return AssistantToolResult.Failed("The tool failed; the failure is logged.");
        }
    }
}

/// <summary>
/// What one tool call gave the model: the tool's result as JSON, or an error. It travels through the chat as the
/// function's result, so every provider sends the model the same JSON the caller sees in <c>toolCalls</c>, and the
/// simulated assistant, which reads no JSON, can still state the typed result in the tool's own words.
/// </summary>
[JsonConverter(typeof(AssistantToolResultJsonConverter))]
public sealed class AssistantToolResult
{
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private readonly Func<string>? _describe;

    private AssistantToolResult(JsonElement? json, string? error, Func<string>? describe)
    {
        Json = json;
        Error = error;
        _describe = describe;
    }

    /// <summary>The tool's result; null when the call failed.</summary>
    public JsonElement? Json { get; }

    /// <summary>What the model was told instead of a result.</summary>
    public string? Error { get; }

    public static AssistantToolResult Succeeded(IAssistantTool tool, object value) =>
        new(JsonSerializer.SerializeToElement(value, value.GetType(), JsonOptions), null, () => tool.Describe(value));

    public static AssistantToolResult Failed(string error) => new(null, error, null);

    /// <summary>Read back from JSON: the typed result (and so <see cref="Describe"/>) does not survive the trip.</summary>
    public static AssistantToolResult FromJson(JsonElement json) =>
        json.ValueKind == JsonValueKind.Object && json.EnumerateObject().Count() == 1 &&
        json.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String
            ? Failed(error.GetString()!)
            : new(json.Clone(), null, null);

    /// <summary>The tool's one-sentence statement of the result (<see cref="IAssistantTool.Describe"/>); null for an error.</summary>
    public string? Describe() => _describe?.Invoke();

    /// <summary>What the model reads: the result, or <c>{"error": "..."}</c>.</summary>
    public JsonElement ToJson() => Json ?? JsonSerializer.SerializeToElement(new { error = Error }, JsonOptions);
}

public sealed class AssistantToolResultJsonConverter : JsonConverter<AssistantToolResult>
{
    public override AssistantToolResult Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        AssistantToolResult.FromJson(JsonElement.ParseValue(ref reader));

    // Raw, as the tool's serializer wrote it: a provider that indents its JSON would otherwise spend the model's tokens on whitespace.
    public override void Write(Utf8JsonWriter writer, AssistantToolResult value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.ToJson().GetRawText(), skipInputValidation: true);
}
