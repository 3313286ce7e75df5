using System.Text.Json;

namespace Sagas.LlmJobs.Providers;

/// <summary>The model's answer for one item of a flagging job.</summary>
public sealed record FlagDecision(bool Flagged, string Category, double Confidence, string Reason)
{
    /// <summary>Name of the structured-output format sent to the provider.</summary>
    public const string SchemaName = "flag_decision";

    /// <summary>
    /// Strict JSON schema: every property required, no others, so a compliant provider can only answer with a
    /// complete decision. The parser below still checks everything, because a proxy, an older model or a
    /// truncated answer need not comply.
    /// </summary>
    public static BinaryData JsonSchema { get; } = Compact(
        """
        {
          "type": "object",
          "properties": {
            "flagged": { "type": "boolean", "description": "Whether the input must be flagged." },
            "category": { "type": "string", "description": "Short category of the finding, or \"none\"." },
            "confidence": { "type": "number", "minimum": 0, "maximum": 1, "description": "Confidence between 0 and 1." },
            "reason": { "type": "string", "description": "One or two sentences explaining the decision." }
          },
          "required": ["flagged", "category", "confidence", "reason"],
          "additionalProperties": false
        }
        """);

    public const int MaxCategoryLength = 100;

    public const int MaxReasonLength = 4000;

    private static BinaryData Compact(string json)
    {
        using var document = JsonDocument.Parse(json);
        return BinaryData.FromObjectAsJson(document.RootElement);
    }

    /// <summary>Parses and validates the model's output text; the error text says what was wrong.</summary>
    public static bool TryParse(string? outputText, out FlagDecision? decision, out string? error)
    {
        decision = null;
        if (string.IsNullOrWhiteSpace(outputText))
        {
            error = "The answer is empty.";
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(outputText);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = $"The answer is a JSON {root.ValueKind}, not an object.";
                return false;
            }

            if (!root.TryGetProperty("flagged", out var flagged) || flagged.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                error = "'flagged' is missing or not a boolean.";
                return false;
            }

            if (!root.TryGetProperty("category", out var category) || category.ValueKind != JsonValueKind.String)
            {
                error = "'category' is missing or not a string.";
                return false;
            }

            if (!root.TryGetProperty("confidence", out var confidence) || confidence.ValueKind != JsonValueKind.Number
                || !confidence.TryGetDouble(out var confidenceValue) || !double.IsFinite(confidenceValue)
                || confidenceValue is < 0 or > 1)
            {
                error = "'confidence' is missing or not a number between 0 and 1.";
                return false;
            }

            if (!root.TryGetProperty("reason", out var reason) || reason.ValueKind != JsonValueKind.String)
            {
                error = "'reason' is missing or not a string.";
                return false;
            }

            var categoryText = category.GetString()!.Trim();
            var reasonText = reason.GetString()!.Trim();
            if (categoryText.Length > MaxCategoryLength || reasonText.Length > MaxReasonLength)
            {
                error = $"'category' (at most {MaxCategoryLength}) or 'reason' (at most {MaxReasonLength}) is too long.";
                return false;
            }

            decision = new FlagDecision(flagged.GetBoolean(), categoryText, confidenceValue, reasonText);
            error = null;
            return true;
        }
        catch (JsonException ex)
        {
            error = $"The answer is not valid JSON: {ex.Message}";
            return false;
        }
    }
}
