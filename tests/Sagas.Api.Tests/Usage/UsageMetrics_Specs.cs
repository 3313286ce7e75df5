using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sagas.Api.Tests.LlmJobs;
using Sagas.Api.Tests.Races;

namespace Sagas.Api.Tests.Usage;

/// <summary>
/// Tokens and cost reach Prometheus under the names the docs give, tagged by provider, model, workflow (and kind for
/// tokens). The meter is shared by every host of the test process, so the values are at least this job's, not equal.
/// </summary>
public sealed class When_model_usage_is_scraped_from_metrics(PricedLlmJobsApi api) : IClassFixture<PricedLlmJobsApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_count_tokens_by_kind_and_cost_under_the_documented_names()
    {
        using var submitted = await _client.PostAsJsonAsync("/api/llm-jobs", new
        {
            kind = "flagging",
            items = Enumerable.Range(1, 3).Select(i => new { id = $"item-{i}", entityType = "post", entityId = $"p{i}", input = $"text {i}" }),
        });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        // The job is readable once the worker accepted it: 404 until then.
        var job = await Eventually.MatchAsync(
            async () =>
            {
                using var response = await _client.GetAsync(new Uri($"/api/llm-jobs/{id}", UriKind.Relative));
                return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
            },
            d => d.ValueKind == JsonValueKind.Object && d.GetProperty("job").GetProperty("status").GetString() == "completed",
            TimeSpan.FromSeconds(60), d => d.ToString());
        var usage = job.GetProperty("usage");

        var metrics = await Eventually.MatchAsync(
            () => _client.GetStringAsync(new Uri("/metrics", UriKind.Relative)),
            text => Sum(text, "sagas_model_cost_usd_total", "workflow=\"llm-jobs\"") >= (double)usage.GetProperty("costUsd").GetDecimal(),
            TimeSpan.FromSeconds(30), text => text.Length > 4000 ? text[..4000] : text);

        Assert.True(Sum(metrics, "sagas_model_tokens_total", "kind=\"output\"", "workflow=\"llm-jobs\"", "provider=\"simulated\"") >= usage.GetProperty("outputTokens").GetInt64());
        Assert.True(Sum(metrics, "sagas_model_tokens_total", "kind=\"input\"", "workflow=\"llm-jobs\"") >= usage.GetProperty("inputTokens").GetInt64());
        Assert.Matches(Sample("sagas_model_tokens_total"), Line(metrics, "sagas_model_tokens_total", "kind=\"cached\""));
        Assert.Matches(Sample("sagas_model_cost_usd_total"), Line(metrics, "sagas_model_cost_usd_total", "model=\""));
    }

    /// <summary>One sample line: the name, its labels in braces, a number.</summary>
    private static Regex Sample(string name) => new($"^{name}\\{{[^}}]*\\}} [0-9.eE+-]+( [0-9]+)?$");

    private static string Line(string text, string name, params string[] labels) =>
        Lines(text, name, labels).FirstOrDefault() ?? throw new Xunit.Sdk.XunitException($"no {name} sample with {string.Join(", ", labels)}");

    private static IEnumerable<string> Lines(string text, string name, params string[] labels) =>
        text.Split('\n').Where(line => line.StartsWith(name + "{", StringComparison.Ordinal) && labels.All(label => line.Contains(label, StringComparison.Ordinal)));

    private static double Sum(string text, string name, params string[] labels) =>
        Lines(text, name, labels).Sum(line => double.Parse(line[(line.LastIndexOf('}') + 2)..].Split(' ')[0], CultureInfo.InvariantCulture));
}
