using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Sagas.Api.Assistant;
using Sagas.Modules.Assistant;

namespace Sagas.Api.Tests.Assistant;

public sealed class When_a_tool_is_offered_to_a_model_as_an_ai_function
{
    private readonly ListLogger _log = new();

    [Fact]
    public void Should_offer_the_tool_name_description_and_argument_schema_unchanged()
    {
        var function = new AssistantToolFunction(FakeTool.Counting("count_things"), _log);

        Assert.Equal("count_things", function.Name);
        Assert.Equal("Answers count_things.", function.Description);
        Assert.Equal(JsonSerializer.Serialize(JsonSerializer.Deserialize<JsonElement>(FakeTool.Schema)), JsonSerializer.Serialize(function.JsonSchema));
        Assert.Equal(new[] { "period", "limit" }, function.JsonSchema.GetProperty("required").EnumerateArray().Select(r => r.GetString()).ToArray());
    }

    [Fact]
    public async Task Should_pass_the_arguments_as_one_object_and_return_the_result_as_camel_case_json()
    {
        var tool = FakeTool.Counting("count_things");
        var function = new AssistantToolFunction(tool, _log);

        var result = await InvokeAsync(function, """{"period":"today","limit":3}""");

        var received = Assert.Single(tool.Received);
        Assert.Equal("today", received.GetProperty("period").GetString());
        Assert.Equal(3, received.GetProperty("limit").GetInt32());
        Assert.Null(result.Error);
        Assert.Equal("""{"subject":"count_things","totalCount":3}""", result.Json!.Value.GetRawText());
        Assert.Equal("""count_things says {"Subject":"count_things","TotalCount":3}.""", result.Describe());
    }

    [Fact]
    public async Task Should_reach_the_model_as_the_same_compact_json_whatever_the_provider_serializer_indents()
    {
        var result = await InvokeAsync(new AssistantToolFunction(FakeTool.Counting("count_things"), _log), """{"period":"all","limit":null}""");

        // Provider adapters serialize function results with Microsoft.Extensions.AI's default options, which indent.
        var sent = JsonSerializer.Serialize<object>(result, AIJsonUtilities.DefaultOptions);

        Assert.Equal("""{"subject":"count_things","totalCount":3}""", sent);
    }

    [Fact]
    public async Task Should_return_bad_arguments_to_the_model_as_the_tool_words_them()
    {
        var tool = new FakeTool("count_things", _ => throw new AssistantToolArgumentException("Unknown period 'soon'; one of: all, today."));

        var result = await InvokeAsync(new AssistantToolFunction(tool, _log), """{"period":"soon","limit":null}""");

        Assert.Null(result.Json);
        Assert.Equal("Unknown period 'soon'; one of: all, today.", result.Error);
        Assert.Null(result.Describe());
        var sent = Assert.Single(JsonSerializer.SerializeToElement(result).EnumerateObject());
        Assert.Equal("error", sent.Name);
        Assert.Equal("Unknown period 'soon'; one of: all, today.", sent.Value.GetString());
        Assert.Empty(_log.Entries);
    }

    [Fact]
    public async Task Should_tell_the_model_only_that_a_failing_tool_failed_and_log_why()
    {
        var tool = new FakeTool("count_things", _ => throw new InvalidOperationException("connection to db-7 as sagas_admin refused"));

        var result = await InvokeAsync(new AssistantToolFunction(tool, _log), """{"period":"all","limit":null}""");

        Assert.Equal("The tool failed; the failure is logged.", result.Error);
        var entry = Assert.Single(_log.Entries);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Contains("count_things", entry.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(entry.Exception);
    }

    [Fact]
    public async Task Should_let_a_cancellation_through_rather_than_report_it_as_a_failure()
    {
        var tool = new FakeTool("count_things", _ => throw new OperationCanceledException());

        await Assert.ThrowsAsync<OperationCanceledException>(() => InvokeAsync(new AssistantToolFunction(tool, _log), "{}"));
        Assert.Empty(_log.Entries);
    }

    [Fact]
    public void Should_read_back_what_it_wrote()
    {
        var failed = JsonSerializer.Deserialize<AssistantToolResult>("""{"error":"no such period"}""")!;
        var succeeded = JsonSerializer.Deserialize<AssistantToolResult>("""{"total":3}""")!;

        Assert.Equal("no such period", failed.Error);
        Assert.Null(failed.Json);
        Assert.Equal(3, succeeded.Json!.Value.GetProperty("total").GetInt32());
        Assert.Null(succeeded.Error);
    }

    private static async Task<AssistantToolResult> InvokeAsync(AIFunction function, string arguments) =>
        Assert.IsType<AssistantToolResult>(await function.InvokeAsync(new AIFunctionArguments(JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments))));
}
