using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Messaging.Retention;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;

namespace Sagas.Api.Tests.ScanSessions;

public sealed class When_a_scan_session_is_started_over_http(ScanSessionsApi api) : IClassFixture<ScanSessionsApi>
{
    private readonly HttpClient _client = api.CreateClient(new() { AllowAutoRedirect = false });

    [Fact]
    public async Task Should_scan_uploaded_files_and_a_zip_from_multipart_and_count_exactly()
    {
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("EB-0, EB-1\nEB-2"), "targetHoleCodes");
        form.Add(new ByteArrayContent("cover sheet mentions EB-1 and EB-2"u8.ToArray()), "files", "cover.txt");
        form.Add(new ByteArrayContent(ScanFixtures.Zip(9)), "files", "drawings.zip");
        form.Add(new StringContent("drive-secret-token"), "driveToken");

        using var response = await _client.PostAsync(new Uri("/api/scan-sessions", UriKind.Relative), form);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal($"/api/scan-sessions/{id}", response.Headers.Location?.OriginalString);

        var session = await ScanFixtures.WaitForSessionAsync(_client, id, ScanFixtures.IsFinished);
        Assert.Equal("completed", session.GetProperty("status").GetString());
        Assert.Equal(10, session.GetProperty("totalFiles").GetInt32());
        Assert.Equal(10, session.GetProperty("processedFiles").GetInt32());
        Assert.Equal(ScanFixtures.MatchingFiles(9) + 1, session.GetProperty("matchedFiles").GetInt32());
        Assert.Equal(ScanFixtures.MatchingFiles(9) + 2, session.GetProperty("totalMatches").GetInt32());
        Assert.Equal(100, session.GetProperty("percent").GetInt32());

        var matched = await _client.GetFromJsonAsync<JsonElement>($"/api/scan-sessions/{id}/results?matched=true&pageSize=2&page=1");
        Assert.Equal(ScanFixtures.MatchingFiles(9) + 1, matched.GetProperty("total").GetInt32());
        Assert.Equal(2, matched.GetProperty("items").GetArrayLength());
        Assert.Equal("cover.txt", matched.GetProperty("items")[0].GetProperty("name").GetString());
        Assert.Equal("2 Codes", matched.GetProperty("items")[0].GetProperty("status").GetString());

        var many = await _client.GetFromJsonAsync<JsonElement>($"/api/scan-sessions/{id}/results?status=n%20codes");
        Assert.Equal(1, many.GetProperty("total").GetInt32());
        var none = await _client.GetFromJsonAsync<JsonElement>($"/api/scan-sessions/{id}/results?status=No%20Code");
        Assert.Equal(4, none.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Should_redirect_the_report_to_a_signed_link_that_downloads_the_workbook()
    {
        var id = await StartFromJsonAsync(ScanFixtures.Zip(4));
        await ScanFixtures.WaitForSessionAsync(_client, id, ScanFixtures.IsFinished);

        using var report = await _client.GetAsync(new Uri($"/api/scan-sessions/{id}/report", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Redirect, report.StatusCode);
        var link = report.Headers.Location!;
        Assert.StartsWith("/files/", link.OriginalString, StringComparison.Ordinal);
        using var anonymous = api.CreateClient();
        anonymous.DefaultRequestHeaders.Clear();
        using var download = await anonymous.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        var bytes = await download.Content.ReadAsByteArrayAsync();
        Assert.Equal("PK"u8.ToArray(), bytes[..2]);
        Assert.Equal($"scan-report-{id:N}.xlsx", download.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
    }

    [Fact]
    public async Task Should_refuse_to_cancel_a_finished_session_and_to_report_an_unknown_one()
    {
        var id = await StartFromJsonAsync(ScanFixtures.Zip(2));
        await ScanFixtures.WaitForSessionAsync(_client, id, ScanFixtures.IsFinished);

        using var cancel = await _client.PostAsync(new Uri($"/api/scan-sessions/{id}/cancel", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Conflict, cancel.StatusCode);
        Assert.Equal("application/problem+json", cancel.Content.Headers.ContentType?.MediaType);

        foreach (var path in new[] { "", "/results", "/report" })
        {
            using var missing = await _client.GetAsync(new Uri($"/api/scan-sessions/{Guid.NewGuid()}{path}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        }

        using var cancelMissing = await _client.PostAsync(new Uri($"/api/scan-sessions/{Guid.NewGuid()}/cancel", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NotFound, cancelMissing.StatusCode);
    }

    [Fact]
    public async Task Should_answer_409_for_the_report_of_a_failed_session()
    {
        // A ZIP without a file fails at dispatch: the session ends failed, without a report.
        var id = await StartFromJsonAsync(ScanFixtures.Zip(0));
        var session = await ScanFixtures.WaitForSessionAsync(_client, id, ScanFixtures.IsFinished);

        using var report = await _client.GetAsync(new Uri($"/api/scan-sessions/{id}/report", UriKind.Relative));

        Assert.Equal("failed", session.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Conflict, report.StatusCode);
        Assert.Equal("application/problem+json", report.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Should_answer_410_for_a_report_retention_deleted_and_keep_the_session()
    {
        var id = await StartFromJsonAsync(ScanFixtures.Zip(2));
        var session = await ScanFixtures.WaitForSessionAsync(_client, id, ScanFixtures.IsFinished);
        Assert.Equal("completed", session.GetProperty("status").GetString());
        using (var before = await _client.GetAsync(new Uri($"/api/scan-sessions/{id}/report", UriKind.Relative)))
            Assert.Equal(HttpStatusCode.Redirect, before.StatusCode);

        // Completed 40 days ago as far as the rules can tell; then one retention run, as the hourly schedule would.
        await using (var scope = api.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
            await db.Set<ScanSession>().Where(s => s.Id == id)
                .ExecuteUpdateAsync(set => set.SetProperty(s => s.CompletedAt, DateTimeOffset.UtcNow.AddDays(-40)));
            await scope.ServiceProvider.GetRequiredService<RetentionRunner>().RunAsync(CancellationToken.None);
        }

        using var report = await _client.GetAsync(new Uri($"/api/scan-sessions/{id}/report", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Gone, report.StatusCode);
        Assert.Equal("application/problem+json", report.Content.Headers.ContentType?.MediaType);
        var kept = await _client.GetFromJsonAsync<JsonElement>($"/api/scan-sessions/{id}");
        Assert.Equal(("completed", 2), (kept.GetProperty("status").GetString(), kept.GetProperty("processedFiles").GetInt32()));
        var results = await _client.GetFromJsonAsync<JsonElement>($"/api/scan-sessions/{id}/results");
        Assert.Equal(0, results.GetProperty("total").GetInt32());
    }

    private async Task<Guid> StartFromJsonAsync(byte[] content)
    {
        using var response = await _client.PostAsJsonAsync("/api/scan-sessions", new { targetHoleCodes = ScanFixtures.Codes, fileContent = Convert.ToBase64String(content), fileName = "drawings.zip" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }
}

public sealed class When_a_scan_session_request_is_wrong(ScanSessionsApi api) : IClassFixture<ScanSessionsApi>
{
    private readonly HttpClient _client = api.CreateClient();

    public static TheoryData<string, string> InvalidBodies => new()
    {
        { """{"fileContent":"RUItMQ=="}""", "targetHoleCodes" },
        { """{"targetHoleCodes":[],"fileContent":"RUItMQ=="}""", "targetHoleCodes" },
        { """{"targetHoleCodes":[" ",""],"fileContent":"RUItMQ=="}""", "targetHoleCodes" },
        { """{"targetHoleCodes":["EB-1"]}""", "source" },
        { """{"targetHoleCodes":["EB-1"],"fileContent":"RUItMQ==","s3Prefix":"s3://bucket/x"}""", "source" },
        { """{"targetHoleCodes":["EB-1"],"fileContent":"not base64!"}""", "fileContent" },
        { """{"targetHoleCodes":["EB-1"],"fileContent":""}""", "files" },
        { """{"targetHoleCodes":["EB-1"],"s3Prefix":"https://bucket/x"}""", "s3Prefix" },
        { """{"targetHoleCodes":["EB-1"],"s3Prefix":"s3://No_Such/x"}""", "s3Prefix" },
        { """{"targetHoleCodes":["EB-1"],"urls":["ftp://host/a.pdf"]}""", "urls[0]" },
        { """{"targetHoleCodes":["EB-1"],"urls":["http://host/a.pdf","relative/b.pdf"]}""", "urls[1]" },
        { "{\"targetHoleCodes\":[\"EB-1\",\"" + new string('X', 201) + "\"],\"fileContent\":\"RUItMQ==\"}", "targetHoleCodes" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Should_answer_400_naming_the_field(string body, string field)
    {
        using var response = await PostJsonAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors should name '{field}': {problem}");
    }

    [Fact]
    public async Task Should_answer_400_for_more_codes_than_allowed()
    {
        var codes = Enumerable.Range(0, ScanSessionsApi.MaxHoleCodes + 1).Select(i => $"C-{i}");
        using var response = await _client.PostAsJsonAsync("/api/scan-sessions", new { targetHoleCodes = codes, fileContent = "RUItMQ==" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("more than 50", problem.GetProperty("errors").GetProperty("targetHoleCodes")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_answer_400_for_malformed_json_and_415_for_another_content_type()
    {
        using var malformed = await PostJsonAsync("""{"targetHoleCodes":["EB-1"],""");
        using var text = await _client.PostAsync(new Uri("/api/scan-sessions", UriKind.Relative), new StringContent("EB-1", Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("application/problem+json", malformed.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        Assert.Equal("application/problem+json", text.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Should_answer_413_for_an_upload_over_the_limit()
    {
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("EB-1"), "targetHoleCodes");
        form.Add(new ByteArrayContent(new byte[ScanSessionsApi.MaxUploadBytes + 1]), "files", "big.bin");

        using var response = await _client.PostAsync(new Uri("/api/scan-sessions", UriKind.Relative), form);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Should_answer_400_for_too_many_files_and_for_a_multipart_without_files()
    {
        using var many = new MultipartFormDataContent();
        many.Add(new StringContent("EB-1"), "targetHoleCodes");
        for (var i = 0; i < 21; i++)
            many.Add(new ByteArrayContent("x"u8.ToArray()), "files", $"f{i}.txt");
        using var none = new MultipartFormDataContent { { new StringContent("EB-1"), "targetHoleCodes" } };

        using var tooMany = await _client.PostAsync(new Uri("/api/scan-sessions", UriKind.Relative), many);
        using var empty = await _client.PostAsync(new Uri("/api/scan-sessions", UriKind.Relative), none);

        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.True((await tooMany.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("files", out _));
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.True((await empty.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("source", out _));
    }

    [Fact]
    public async Task Should_answer_400_for_an_unknown_result_filter_or_page()
    {
        using var status = await _client.GetAsync(new Uri($"/api/scan-sessions/{Guid.NewGuid()}/results?status=maybe", UriKind.Relative));
        using var page = await _client.GetAsync(new Uri($"/api/scan-sessions/{Guid.NewGuid()}/results?pageSize=501", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, status.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, page.StatusCode);
    }

    private Task<HttpResponseMessage> PostJsonAsync(string body)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return _client.PostAsync(new Uri("/api/scan-sessions", UriKind.Relative), content);
    }
}
