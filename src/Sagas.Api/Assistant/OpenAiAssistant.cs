using System.ClientModel;
using OpenAI;
using OpenAI.Chat;
using Sagas.Modules.Assistant;

namespace Sagas.Api.Assistant;

/// <summary>
/// The assistant on OpenAI's Chat Completions API with function tools (official SDK). The model may call our tools
/// for at most <see cref="AssistantOptions.MaxToolRounds"/> turns; after that it is asked once more with tools turned
/// off, so it answers with what it has. Tool results go back as tool messages, as JSON.
/// </summary>
public sealed class OpenAiAssistant(ChatClient chat, AssistantToolRegistry tools, AssistantToolRunner runner, AssistantOptions options, ILogger<OpenAiAssistant> logger) : IAssistant
{
    private const string SystemPrompt =
        "You answer questions about this system's own data: LLM jobs, scan sessions and the other workflows. " +
        "Use the tools to look numbers up; never guess a figure a tool can give. Tools are read-only. " +
        "Dates are UTC. Answer briefly and state the period the figures cover. If no tool can answer, say so.";

    public static ChatClient CreateClient(AssistantOpenAiOptions openAi) => new(
        openAi.Model,
        new ApiKeyCredential(openAi.ApiKey ?? ""),
        new OpenAIClientOptions { Endpoint = new Uri(openAi.BaseUrl.TrimEnd('/') + "/v1"), NetworkTimeout = openAi.RequestTimeout });

    public async Task<AskResponse> AskAsync(string prompt, CancellationToken cancellationToken)
    {
        var messages = new List<ChatMessage>
        {
            new SystemChatMessage(SystemPrompt + $" Today is {DateTimeOffset.UtcNow:yyyy-MM-dd}."),
            new UserChatMessage(prompt),
        };
        var withTools = new ChatCompletionOptions { MaxOutputTokenCount = options.OpenAi.MaxOutputTokens, ToolChoice = ChatToolChoice.CreateAutoChoice() };
        foreach (var tool in tools.All)
            withTools.Tools.Add(ChatTool.CreateFunctionTool(tool.Name, tool.Description, BinaryData.FromString(tool.ParametersSchema)));
        var final = new ChatCompletionOptions { MaxOutputTokenCount = options.OpenAi.MaxOutputTokens, ToolChoice = ChatToolChoice.CreateNoneChoice() };
        foreach (var tool in withTools.Tools)
            final.Tools.Add(tool);

        var calls = new List<AssistantToolCall>();
        for (var round = 1; ; round++)
        {
            var last = round > options.MaxToolRounds;
            var completion = await CompleteAsync(messages, last ? final : withTools, cancellationToken);
            if (completion.FinishReason != ChatFinishReason.ToolCalls || completion.ToolCalls.Count == 0)
                return new AskResponse(Text(completion), calls, Simulated: false, completion.Model ?? options.OpenAi.Model, round);
            if (last)
            {
                return new AskResponse(
                    $"The assistant stopped after {options.MaxToolRounds} rounds of tool calls without a final answer. Ask a narrower question.",
                    calls, Simulated: false, completion.Model ?? options.OpenAi.Model, round);
            }

            messages.Add(new AssistantChatMessage(completion));
            var index = 0;
            foreach (var toolCall in completion.ToolCalls)
            {
                if (index++ >= options.MaxToolCallsPerRound)
                {
                    messages.Add(new ToolChatMessage(toolCall.Id, $$"""{"error":"At most {{options.MaxToolCallsPerRound}} tool calls per turn; this one was not run."}"""));
                    continue;
                }

                var (call, _) = await runner.RunAsync(toolCall.FunctionName, toolCall.FunctionArguments.ToString(), cancellationToken);
                calls.Add(call);
                messages.Add(new ToolChatMessage(toolCall.Id, call.Result is { } result
                    ? result.GetRawText()
                    : global::System.Text.Json.JsonSerializer.Serialize(new { error = call.Error })));
            }
        }
    }

    private async Task<ChatCompletion> CompleteAsync(List<ChatMessage> messages, ChatCompletionOptions completionOptions, CancellationToken cancellationToken)
    {
        try
        {
            return (await chat.CompleteChatAsync(messages, completionOptions, cancellationToken)).Value;
        }
        catch (ClientResultException exception)
        {
            // The status is safe to show; the provider's body may echo the prompt or account details, so it is only logged.
            logger.LogWarning(exception, "OpenAI chat completion failed with HTTP {Status}", exception.Status);
            throw new AssistantUnavailableException($"The language model answered HTTP {exception.Status}.", exception);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(exception, "OpenAI chat completion could not be reached");
            throw new AssistantUnavailableException("The language model could not be reached.", exception);
        }
    }

    private static string Text(ChatCompletion completion)
    {
        if (completion.Refusal is { Length: > 0 } refusal)
            return refusal;
        var text = string.Concat(completion.Content.Where(p => p.Kind == ChatMessageContentPartKind.Text).Select(p => p.Text));
        return text.Length > 0 ? text : "The language model returned no answer.";
    }
}
