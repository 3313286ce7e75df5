using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Sagas.Api.Tests.ScanSessions;

/// <summary>Issue 17: <c>GET /api/scan-sessions</c> answered 405; it lists sessions the way the other lists do.</summary>
public sealed class When_scan_sessions_are_listed(ScanSessionsApi api) : IClassFixture<ScanSessionsApi>
{
    private readonly HttpClient _client = api.CreateClient();

    [Fact]
    public async Task Should_page_them_newest_first_and_filter_by_status_and_creation_time()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var first = await StartAsync();
        var second = await StartAsync();
        var third = await StartAsync();
        foreach (var id in new[] { first, second, third })
            await ScanFixtures.WaitForSessionAsync(_client, id, ScanFixtures.IsFinished);

        using var response = await _client.GetAsync(new Uri("/api/scan-sessions?pageSize=2", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, page.GetProperty("total").GetInt32());
        Assert.Equal(1, page.GetProperty("page").GetInt32());
        Assert.Equal(2, page.GetProperty("pageSize").GetInt32());
        Assert.Equal([third, second], Ids(page));
        Assert.Equal("completed", page.GetProperty("items")[0].GetProperty("status").GetString());
        Assert.Equal(2, page.GetProperty("items")[0].GetProperty("totalFiles").GetInt32());

        var next = await _client.GetFromJsonAsync<JsonElement>("/api/scan-sessions?pageSize=2&page=2");
        Assert.Equal([first], Ids(next));

        var completed = await _client.GetFromJsonAsync<JsonElement>("/api/scan-sessions?status=Completed");
        Assert.Equal(3, completed.GetProperty("total").GetInt32());
        var scanning = await _client.GetFromJsonAsync<JsonElement>("/api/scan-sessions?status=scanning");
        Assert.Equal(0, scanning.GetProperty("total").GetInt32());

        var since = Uri.EscapeDataString(before.ToString("O"));
        var recent = await _client.GetFromJsonAsync<JsonElement>($"/api/scan-sessions?createdAfter={since}");
        Assert.Equal(3, recent.GetProperty("total").GetInt32());
        var later = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(1).ToString("O"));
        var none = await _client.GetFromJsonAsync<JsonElement>($"/api/scan-sessions?createdAfter={later}");
        Assert.Equal(0, none.GetProperty("total").GetInt32());
        // The same instant written in another offset selects the same sessions.
        var beforeElsewhere = Uri.EscapeDataString(before.ToOffset(TimeSpan.FromHours(5)).ToString("O"));
        var older = await _client.GetFromJsonAsync<JsonElement>($"/api/scan-sessions?createdBefore={beforeElsewhere}");
        Assert.Equal(0, older.GetProperty("total").GetInt32());
        var allElsewhere = await _client.GetFromJsonAsync<JsonElement>($"/api/scan-sessions?createdAfter={beforeElsewhere}");
        Assert.Equal(3, allElsewhere.GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData("status=running", "status")]
    [InlineData("pageSize=501", "pageSize")]
    [InlineData("page=0", "page")]
    [InlineData("createdAfter=2026-12-01T10:00:00Z&createdBefore=2026-12-01T09:00:00Z", "createdBefore")]
    public async Task Should_refuse_a_wrong_filter_with_the_field_named(string query, string field)
    {
        using var response = await _client.GetAsync(new Uri("/api/scan-sessions?" + query, UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    private static Guid[] Ids(JsonElement page) => [.. page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetGuid())];

    private async Task<Guid> StartAsync()
    {
        using var response = await _client.PostAsJsonAsync("/api/scan-sessions", new { targetHoleCodes = ScanFixtures.Codes, fileContent = Convert.ToBase64String(ScanFixtures.Zip(2)), fileName = "drawings.zip" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }
}
