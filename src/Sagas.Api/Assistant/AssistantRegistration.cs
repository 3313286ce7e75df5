using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sagas.Core.Configuration;
using Sagas.Modules.Api;
using Sagas.Modules.Assistant;
using Sagas.Modules.Breakers;
using Sagas.Modules.Usage;
using Sagas.Persistence;

namespace Sagas.Api.Assistant;

public static class AssistantRegistration
{
    /// <summary>The assistant on the model of <c>Assistant:Provider</c>, with the workflows' read-only tools.</summary>
    public static WebApplicationBuilder AddAssistant(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<AssistantOptions>(builder.Configuration, AssistantOptions.SectionName);
        // The provider's chat client is chosen while services are registered.
        var options = builder.Configuration.ReadValidatedOptions<AssistantOptions>(AssistantOptions.SectionName);
        // Left in place, the old setting would silently price nothing: say where it went instead.
        if (builder.Configuration.GetSection(AssistantOptions.SectionName + ":Price").GetChildren().Any())
        {
            throw new SagasConfigurationException(
                $"Assistant:Price moved to the shared price table: remove it and add a row under {PriceTable.SectionName} with Provider '{options.Provider.Trim().ToLowerInvariant()}', the model, InputPerMillion, OutputPerMillion and EffectiveFrom.");
        }

        // The workflows add their own tools and failure sources (IWorkflowModule.AddApi); this one spans them all.
        builder.Services.AddAssistantTool<RecentFailuresTool>();
        builder.Services.TryAddScoped<AssistantToolRegistry>();

        var client = AssistantProviders.Select(options);
        var provider = options.Provider.Trim().ToLowerInvariant();
        builder.Services.AddKeyedChatClient(
            AssistantLoop.ChatClientKey,
            // The simulated model calls no one: it has no breaker.
            services => provider == AssistantProviders.Simulated ? client(services) : services.GetRequiredService<ProviderBreakers>().Guard(
                client(services), (inner, breakers) => new BreakerChatClient(inner, provider, breakers))).UseAssistantToolLoop(options);
        builder.Services.AddScoped<AssistantLoop>();
        builder.Services.AddSingleton<AssistantMetrics>();
        builder.Services.AddSingleton<AssistantQuestionRecorder>();
        builder.Services.AddHostedService(services => services.GetRequiredService<AssistantQuestionRecorder>());
        return builder;
    }

    public static IEndpointRouteBuilder MapAssistantEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/ai/ask", AskAsync).WithTags("Assistant").Mutation()
            .WithSummary("Answers a question about our own data with read-only tools (counts, failures, usage); with Accept: text/event-stream, streams the answer as server-sent events. See docs/assistant.md.")
            .Produces<AskResponse>().Produces(StatusCodes.Status200OK, contentType: "text/event-stream").ProducesValidationProblem().ProducesProblem(StatusCodes.Status429TooManyRequests).ProducesProblem(StatusCodes.Status502BadGateway);
        endpoints.MapGet("/api/assistant/questions", ListQuestionsAsync).WithTags("Assistant")
            .WithName("ListAssistantQuestions")
            .WithSummary("The questions put to the assistant, newest first: outcome, tokens, cost, tool calls and time of each (never the question's text).")
            .Produces<PageOf<AssistantQuestionView>>().ProducesValidationProblem();
        return endpoints;
    }

    private static async Task<IResult> ListQuestionsAsync(SagasDbContext db, int? page, int? pageSize, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!Paging.TryCreate(page, pageSize, errors, out var paging))
            return Results.ValidationProblem(errors);

        var questions = db.Set<AssistantQuestion>().AsNoTracking();
        var total = await questions.CountAsync(cancellationToken);
        // Ids are version 7, in the order asked: the tie-break keeps pages stable when two share an instant.
        var rows = await questions.OrderByDescending(q => q.AskedAt).ThenByDescending(q => q.Id)
            .Skip(paging.Skip).Take(paging.PageSize)
            .ToListAsync(cancellationToken);
        return Results.Ok(new PageOf<AssistantQuestionView>([.. rows.Select(AssistantQuestionView.From)], paging.Page, paging.PageSize, total));
    }

    /// <summary>What a 429 asks the caller to wait when the provider did not say.</summary>
    private static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(30);

    private static async Task<IResult> AskAsync(
        AskRequest? request, AssistantLoop assistant, AssistantOptions options, PriceTable prices, AssistantMetrics metrics, AssistantQuestionRecorder recorder, HttpContext http, CancellationToken cancellationToken)
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

        var budget = new AssistantBudget(options, prices);
        if (WantsEventStream(http.Request))
            return await StreamAsync(prompt, budget, assistant, metrics, recorder.Start(prompt, streamed: true), http, cancellationToken);

        var question = recorder.Start(prompt, streamed: false);
        try
        {
            var answer = await assistant.AskAsync(prompt, budget, cancellationToken);
            metrics.Record(answer);
            question.Answered(answer, budget);
            return Results.Ok(answer);
        }
        catch (AssistantUnavailableException exception)
        {
            question.Failed(budget, assistant.ConfiguredModel, exception);
            return Unavailable(exception.RateLimited, exception.Message, exception.RetryAfter, http);
        }
        catch (Exception) when (!question.Recorded)
        {
            question.Failed(budget, assistant.ConfiguredModel, failure: null, cancelled: cancellationToken.IsCancellationRequested);
            throw;
        }
    }

    /// <summary>
    /// The answer as server-sent events. The first event is awaited before the response starts: a question that fails
    /// before it (the provider rate limited or refusing from the start) still gets the status code the JSON route gives.
    /// </summary>
    private static async Task<IResult> StreamAsync(
        string prompt, AssistantBudget budget, AssistantLoop assistant, AssistantMetrics metrics, AssistantQuestionTimer question, HttpContext http, CancellationToken cancellationToken)
    {
        var events = assistant.StreamAsync(prompt, budget, cancellationToken).GetAsyncEnumerator(cancellationToken);
        AssistantStreamEvent? first;
        try
        {
            first = await events.MoveNextAsync() ? events.Current : null;
        }
        catch (Exception)
        {
            question.Failed(budget, assistant.ConfiguredModel, failure: null, cancelled: cancellationToken.IsCancellationRequested);
            await events.DisposeAsync();
            throw;
        }

        if (first is { Failure: { } failure })
        {
            question.Failed(budget, assistant.ConfiguredModel, failure);
            await events.DisposeAsync();
            return Unavailable(failure.RateLimited, failure.Message, failure.RetryAfter, http);
        }

        return TypedResults.ServerSentEvents(Rest(first, events, budget, assistant, metrics, question, cancellationToken));
    }

    private static async IAsyncEnumerable<SseItem<object>> Rest(
        AssistantStreamEvent? first, IAsyncEnumerator<AssistantStreamEvent> events, AssistantBudget budget, AssistantLoop assistant,
        AssistantMetrics metrics, AssistantQuestionTimer question, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            for (var next = first; next is not null; next = await events.MoveNextAsync() ? events.Current : null)
            {
                if (next.Data is AskResponse done)
                {
                    metrics.Record(done);
                    question.Answered(done, budget);
                }
                else if (next.Failure is { } failure)
                {
                    question.Failed(budget, assistant.ConfiguredModel, failure);
                }

                yield return new SseItem<object>(next.Data, next.Type);
            }
        }
        finally
        {
            // Ended without a done or error event: the caller hung up, or something threw.
            if (!question.Recorded)
                question.Failed(budget, assistant.ConfiguredModel, failure: null, cancelled: cancellationToken.IsCancellationRequested);
            await events.DisposeAsync();
        }
    }

    private static IResult Unavailable(bool rateLimited, string detail, TimeSpan? retryAfter, HttpContext http)
    {
        if (!rateLimited)
            return Results.Problem(title: "The assistant's language model is unavailable", detail: detail, statusCode: StatusCodes.Status502BadGateway);

        // Whole seconds, at least one: the provider's own wait when it gave one.
        var seconds = Math.Max(1, (long)Math.Ceiling((retryAfter is { } wait && wait > TimeSpan.Zero ? wait : DefaultRetryAfter).TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return Results.Problem(title: "The assistant's language model is rate limited", detail: detail, statusCode: StatusCodes.Status429TooManyRequests);
    }

    /// <summary>A caller that accepts an event stream gets the answer as it is written; any other gets it as one JSON document.</summary>
    private static bool WantsEventStream(HttpRequest http) =>
        http.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase));
}
