using System.Net.ServerSentEvents;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sagas.Core.Configuration;
using Sagas.Modules.Api;
using Sagas.Modules.Assistant;

namespace Sagas.Api.Assistant;

public static class AssistantRegistration
{
    /// <summary>The assistant on the model of <c>Assistant:Provider</c>, with the workflows' read-only tools.</summary>
    public static WebApplicationBuilder AddAssistant(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<AssistantOptions>(builder.Configuration, AssistantOptions.SectionName);
        // The provider's chat client is chosen while services are registered.
        var options = builder.Configuration.ReadValidatedOptions<AssistantOptions>(AssistantOptions.SectionName);

        // The workflows add their own tools and failure sources (IWorkflowModule.AddApi); this one spans them all.
        builder.Services.AddAssistantTool<RecentFailuresTool>();
        builder.Services.TryAddScoped<AssistantToolRegistry>();

        builder.Services.AddKeyedChatClient(AssistantLoop.ChatClientKey, AssistantProviders.Select(options)).UseAssistantToolLoop(options);
        builder.Services.AddScoped<AssistantLoop>();
        builder.Services.AddSingleton<AssistantMetrics>();
        return builder;
    }

    public static IEndpointRouteBuilder MapAssistantEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/ai/ask", AskAsync).WithTags("Assistant").Mutation()
            .WithSummary("Answers a question about our own data with read-only tools (counts, failures, usage); with Accept: text/event-stream, streams the answer as server-sent events. See docs/assistant.md.")
            .Produces<AskResponse>().Produces(StatusCodes.Status200OK, contentType: "text/event-stream").ProducesValidationProblem().ProducesProblem(StatusCodes.Status429TooManyRequests).ProducesProblem(StatusCodes.Status502BadGateway);
        return endpoints;
    }

    private static async Task<IResult> AskAsync(AskRequest? request, AssistantLoop assistant, AssistantOptions options, AssistantMetrics metrics, HttpRequest http, CancellationToken cancellationToken)
    {
        var prompt = request?.Prompt?.Trim();
        if (string.IsNullOrEmpty(prompt))
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["prompt"] = ["prompt is required."] }, title: "Nothing to answer");
        if (prompt.Length > options.MaxPromptCharacters)
        {
            return Results.ValidationProblem(
                new Dictionary<string, string[]> { ["prompt"] = [$"prompt is limited to {options.MaxPromptCharacters:N0} characters; this one has {prompt.Length:N0}."] },
                title: "Prompt too long");
        }

        if (WantsEventStream(http))
        {
            return TypedResults.ServerSentEvents(
                assistant.StreamAsync(prompt, cancellationToken).Select(e =>
                {
                    if (e.Data is AskResponse done)
                        metrics.Record(done);
                    return new SseItem<object>(e.Data, e.Type);
                }));
        }

        try
        {
            var answer = await assistant.AskAsync(prompt, cancellationToken);
            metrics.Record(answer);
            return Results.Ok(answer);
        }
        catch (AssistantUnavailableException exception) when (exception.RateLimited)
        {
            return Results.Problem(title: "The assistant's language model is rate limited", detail: exception.Message, statusCode: StatusCodes.Status429TooManyRequests);
        }
        catch (AssistantUnavailableException exception)
        {
            return Results.Problem(title: "The assistant's language model is unavailable", detail: exception.Message, statusCode: StatusCodes.Status502BadGateway);
        }
    }

    /// <summary>A caller that accepts an event stream gets the answer as it is written; any other gets it as one JSON document.</summary>
    private static bool WantsEventStream(HttpRequest http) =>
        http.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase));
}
