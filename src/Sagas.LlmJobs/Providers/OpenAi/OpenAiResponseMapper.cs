// OpenAI 2.15.0 marks the Responses types experimental (OPENAI001). Only the files in this folder use them, behind
// ILlmJobProvider, so an SDK change stays contained here.
#pragma warning disable OPENAI001

using System.ClientModel.Primitives;
using System.Text.Json;
using OpenAI.Responses;
using Sagas.Core.Http;

namespace Sagas.LlmJobs.Providers.OpenAi;

/// <summary>Turns OpenAI response objects and error bodies into the provider-neutral records.</summary>
internal static class OpenAiResponseMapper
{
    public static CreateResponseOptions BuildCreateOptions(LlmItemRequest request, string defaultModel, int? maxOutputTokens, bool background)
    {
        var options = new CreateResponseOptions
        {
            Model = string.IsNullOrWhiteSpace(request.Model) ? defaultModel : request.Model,
            Instructions = request.Instructions,
            TextOptions = new ResponseTextOptions
            {
                TextFormat = ResponseTextFormat.CreateJsonSchemaFormat(
                    FlagDecision.SchemaName, FlagDecision.JsonSchema, jsonSchemaFormatDescription: null, jsonSchemaIsStrict: true),
            },
            MaxOutputTokenCount = maxOutputTokens,
        };

        if (background)
        {
            // Background responses must be stored: polling reads them back by id.
            options.BackgroundModeEnabled = true;
            options.StoredOutputEnabled = true;
        }
        else
        {
            // Batch results arrive in the output file; keeping 50,000 copies on the provider helps nobody.
            options.StoredOutputEnabled = false;
        }

        options.InputItems.Add(ResponseItem.CreateUserMessageItem(request.Input));
        options.Metadata["item_id"] = request.ItemId;
        if (request.Reference is { } reference)
            options.Metadata["reference"] = OpenAiBatchFormat.MetadataReference(reference);
        return options;
    }

    public static LlmItemOutcome ToOutcome(ResponseResult response, RateLimitSnapshot rateLimit)
    {
        var usage = response.Usage is { } tokens ? new LlmTokenUsage(tokens.InputTokenCount, tokens.OutputTokenCount, tokens.InputTokenDetails?.CachedTokenCount ?? 0) : null;
        var (status, decision, error) = Interpret(response);
        return new LlmItemOutcome(response.Id, status, ProviderStatusWord(response.Status), decision, usage, error, rateLimit);
    }

    public static (LlmItemStatus Status, FlagDecision? Decision, LlmProviderError? Error) Interpret(ResponseResult response)
    {
        switch (response.Status)
        {
            case ResponseStatus.Queued:
                return (LlmItemStatus.Queued, null, null);
            case ResponseStatus.InProgress:
            case null:
                return (LlmItemStatus.InProgress, null, null);
            case ResponseStatus.Cancelled:
                return (LlmItemStatus.Cancelled, null, null);
            case ResponseStatus.Failed:
            {
                var code = response.Error?.Code.ToString();
                var message = response.Error?.Message ?? "The provider reported the response as failed without details.";
                return (LlmItemStatus.Failed, null, new LlmProviderError(LlmErrorClassifier.ForItemCode(code), string.IsNullOrEmpty(code) ? "failed" : code, message));
            }

            case ResponseStatus.Incomplete:
            {
                var reason = response.IncompleteStatusDetails?.Reason?.ToString() ?? "unknown";
                return (LlmItemStatus.Failed, null, new LlmProviderError(
                    LlmErrorKind.Permanent, LlmErrorCodes.Incomplete, $"The model stopped before finishing its answer (reason: {reason})."));
            }

            default:
                return InterpretCompleted(response);
        }
    }

    private static (LlmItemStatus, FlagDecision?, LlmProviderError?) InterpretCompleted(ResponseResult response)
    {
        var refusal = response.OutputItems.OfType<MessageResponseItem>()
            .SelectMany(item => item.Content)
            .FirstOrDefault(part => part.Kind == ResponseContentPartKind.Refusal)?.Refusal;
        if (refusal is not null)
            return (LlmItemStatus.Failed, null, new LlmProviderError(LlmErrorKind.Permanent, LlmErrorCodes.Refusal, $"The model refused: {refusal}"));

        if (FlagDecision.TryParse(response.GetOutputText(), out var decision, out var problem))
            return (LlmItemStatus.Succeeded, decision, null);

        return (LlmItemStatus.Failed, null, new LlmProviderError(LlmErrorKind.Permanent, LlmErrorCodes.InvalidOutput, $"The answer is not a valid decision: {problem}"));
    }

    public static string ProviderStatusWord(ResponseStatus? status) => status switch
    {
        ResponseStatus.Queued => "queued",
        ResponseStatus.InProgress => "in_progress",
        ResponseStatus.Completed => "completed",
        ResponseStatus.Failed => "failed",
        ResponseStatus.Cancelled => "cancelled",
        ResponseStatus.Incomplete => "incomplete",
        _ => "unknown",
    };

    public static ResponseResult ReadResponse(BinaryData json) =>
        ModelReaderWriter.Read<ResponseResult>(json) ?? throw new JsonException("The response object is null.");

    /// <summary>Reads <c>{"error":{"message","type","param","code"}}</c>; tolerant of anything else.</summary>
    public static (string? Code, string? Message) ReadErrorBody(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
            return (null, null);

        return (StringOrNull(error, "code") ?? StringOrNull(error, "type"), StringOrNull(error, "message"));
    }

    public static (string? Code, string? Message) ReadErrorBody(BinaryData? content)
    {
        if (content is null || content.ToMemory().IsEmpty)
            return (null, null);
        try
        {
            using var document = JsonDocument.Parse(content);
            return ReadErrorBody(document.RootElement);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    public static string? StringOrNull(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
