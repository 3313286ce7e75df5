using System.Text;
using Sagas.Modules.Assistant;

namespace Sagas.Api.Assistant;

/// <summary>
/// The offline assistant of the embedded default and the demos: no language model. It picks tools by keywords in the
/// prompt (deterministically, in registration order), runs them with the period it reads from the prompt, and writes
/// the answer from their results. Every answer says it was simulated.
/// </summary>
public sealed class SimulatedAssistant(AssistantToolRegistry tools, AssistantToolRunner runner, TimeProvider clock) : IAssistant
{
    public const string ModelName = "simulated";
    public const string Label = "[simulated assistant: answers are composed from tool results by keyword matching, no language model involved]";

    public async Task<AskResponse> AskAsync(string prompt, CancellationToken cancellationToken)
    {
        var text = prompt.ToLowerInvariant();
        var period = AssistantPeriod.FromPrompt(prompt, clock.GetUtcNow());
        var picked = tools.All.Where(tool => tool.Keywords.Any(keyword => text.Contains(keyword, StringComparison.Ordinal))).ToList();

        // A failure question is about failures, not totals: counting tools stay out unless asked for by name as well.
        var asksForFailures = picked.Any(t => t.Name == "recent_failures");
        if (asksForFailures && !text.Contains("how many", StringComparison.Ordinal) && !text.Contains("count", StringComparison.Ordinal))
            picked = [.. picked.Where(t => t.Name == "recent_failures" || !t.Name.StartsWith("count_", StringComparison.Ordinal))];

        var answer = new StringBuilder(Label).Append(' ');
        var calls = new List<AssistantToolCall>();
        if (picked.Count == 0)
        {
            answer.Append("I can answer questions about: ")
                .Append(string.Join("; ", tools.All.Select(t => t.Description.TrimEnd('.'))))
                .Append(". Try for example \"How many LLM jobs failed this month?\" or \"Show recent failures\".");
            return new AskResponse(answer.ToString(), calls, Simulated: true, ModelName, Rounds: 0);
        }

        foreach (var tool in picked)
        {
            var arguments = tool.SimulatedArguments(prompt, period);
            var (call, result) = await runner.RunAsync(tool.Name, arguments.GetRawText(), cancellationToken);
            calls.Add(call);
            answer.Append(result is null ? $"The {tool.Name} tool failed: {call.Error}" : tool.Describe(result)).Append(' ');
        }

        return new AskResponse(answer.ToString().TrimEnd(), calls, Simulated: true, ModelName, Rounds: 1);
    }
}
