using System.Diagnostics;
using System.Diagnostics.Metrics;
using Sagas.Core.Telemetry;

namespace Sagas.Api.Assistant;

/// <summary>
/// Every answered question's spending, as metrics and one log line: questions by outcome, tokens by direction and the
/// cost (when the price table, <c>Prices</c>, has the model), per provider and model, so the assistant's spend sits beside the other
/// model calls' on the same dashboards.
/// </summary>
public sealed class AssistantMetrics(AssistantOptions options, ILogger<AssistantMetrics> logger)
{
    private static readonly Counter<long> Questions = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.assistant.questions", description: "Questions answered by the assistant, by outcome (complete, or the budget that stopped it).");

    private static readonly Counter<long> Tokens = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.assistant.tokens", unit: "{token}", description: "Tokens the assistant's model reported, by direction (input, output).");

    private static readonly Counter<double> Cost = SagasTelemetry.Meter.CreateCounter<double>(
        "sagas.assistant.cost", unit: "USD", description: "Cost of the assistant's tokens under the shared price table (Prices).");

    public void Record(AskResponse answer)
    {
        var provider = options.Provider.Trim().ToLowerInvariant();
        var outcome = answer.StoppedBy ?? "complete";
        Questions.Add(1, new TagList { { "provider", provider }, { "model", answer.Model }, { "outcome", outcome } });
        var usage = answer.Usage;
        if (usage is not null)
        {
            Tokens.Add(usage.InputTokens, new TagList { { "provider", provider }, { "model", answer.Model }, { "direction", "input" } });
            Tokens.Add(usage.OutputTokens, new TagList { { "provider", provider }, { "model", answer.Model }, { "direction", "output" } });
            if (usage.CostUsd is { } cost)
                Cost.Add((double)cost, new TagList { { "provider", provider }, { "model", answer.Model } });
        }

        logger.LogInformation(
            "Assistant question on {Provider} {Model}: {Outcome} in {Rounds} rounds, {ToolCalls} tool calls, {InputTokens} input and {OutputTokens} output tokens, cost {CostUsd} USD",
            provider, answer.Model, outcome, answer.Rounds, answer.ToolCalls.Count, usage?.InputTokens, usage?.OutputTokens, usage?.CostUsd);
    }
}
