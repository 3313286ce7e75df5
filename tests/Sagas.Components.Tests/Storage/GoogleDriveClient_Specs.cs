using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Components.Tests.Infrastructure;
using Sagas.ScanSessions.Fetching.GoogleDrive;
using Sagas.Storage.Content;

namespace Sagas.Components.Tests.Storage;

/// <summary>Drive v3 response bodies as Google sends them.</summary>
public static class DriveResponses
{
    public const string Token = "ya29.user-token";

    public static string Metadata(string id, string name, string mimeType, long? size) =>
        $$"""{"id":"{{id}}","name":"{{name}}","mimeType":"{{mimeType}}",{{(size is null ? "" : $"\"size\":\"{size}\",")}}"webViewLink":"https://drive.google.com/file/d/{{id}}/view?usp=drivesdk"}""";

    public static string Error(int code, string reason, string message, string domain = "global") =>
        $$$"""{"error":{"code":{{{code}}},"message":"{{{message}}}","errors":[{"message":"{{{message}}}","domain":"{{{domain}}}","reason":"{{{reason}}}"}]}}""";

    public const string Unauthenticated =
        """{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.","errors":[{"message":"Invalid Credentials","domain":"global","reason":"authError","location":"Authorization","locationType":"header"}],"status":"UNAUTHENTICATED"}}""";

    public static string NotFound(string id) =>
        $$$"""{"error":{"code":404,"message":"File not found: {{{id}}}.","errors":[{"message":"File not found: {{{id}}}.","domain":"global","reason":"notFound","location":"fileId","locationType":"parameter"}]}}""";

    public static readonly string UserRateLimit = Error(403, "userRateLimitExceeded", "User Rate Limit Exceeded", "usageLimits");

    public static readonly string NoPermission = Error(403, "insufficientFilePermissions", "The user does not have sufficient permissions for this file.");

    public static readonly string NotDownloadable = Error(403, "fileNotDownloadable", "Only files with binary content can be downloaded. Use Export with Docs Editors files.");

    public static IResult Json(string body, int status = 200) => Results.Text(body, "application/json; charset=UTF-8", Encoding.UTF8, status);

    public static ServiceProvider Client(HttpStub stub, params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ScanSessions:Drive:BaseUrl"] = stub.BaseAddress.ToString(),
            ["ScanSessions:Drive:RetryBaseDelay"] = "00:00:00.010",
            ["ScanSessions:Drive:MaxRetryDelay"] = "00:00:00.050",
            ["ScanSessions:Drive:MaxRetries"] = "2",
            ["ScanSessions:Drive:MaxDownloadBytes"] = "4096",
        };
        foreach (var (key, value) in overrides)
            settings[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddGoogleDriveClient(configuration).BuildServiceProvider();
    }
}

public sealed class When_a_file_is_fetched_from_Google_Drive : IAsyncLifetime
{
    private const string FileId = "1AbC_def-GHIjklMNOpqrSTUvwxYZ012345";

    private HttpStub _stub = null!;
    private ServiceProvider _services = null!;
    private readonly Dictionary<string, Func<HttpContext, int, IResult>> _metadata = new();
    private readonly Dictionary<string, Func<HttpContext, int, IResult>> _media = new();
    private readonly Dictionary<string, Func<HttpContext, int, IResult>> _export = new();

    private GoogleDriveClient Drive => _services.GetRequiredService<GoogleDriveClient>();

    public async Task InitializeAsync()
    {
        var calls = new Dictionary<string, int>();
        IResult Answer(Dictionary<string, Func<HttpContext, int, IResult>> routes, string id, HttpContext context, string kind)
        {
            int call;
            lock (calls)
                calls[kind + id] = call = calls.GetValueOrDefault(kind + id) + 1;
            return routes.TryGetValue(id, out var route) ? route(context, call) : DriveResponses.Json(DriveResponses.NotFound(id), 404);
        }

        _stub = await HttpStub.StartAsync(app =>
        {
            app.MapGet("/drive/v3/files/{id}", (string id, HttpContext context) =>
                context.Request.Query["alt"] == "media" ? Answer(_media, id, context, "media") : Answer(_metadata, id, context, "metadata"));
            app.MapGet("/drive/v3/files/{id}/export", (string id, HttpContext context) => Answer(_export, id, context, "export"));
        });
        _services = DriveResponses.Client(_stub);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _stub.DisposeAsync();
    }

    [Fact]
    public async Task Should_download_a_binary_file_with_its_name_type_and_link()
    {
        _metadata[FileId] = (_, _) => DriveResponses.Json(DriveResponses.Metadata(FileId, "HOLE-12 drawing.pdf", "application/pdf", 9));
        _media[FileId] = (_, _) => Results.Bytes("%PDF-1.7"u8.ToArray().Append((byte)'\n').ToArray(), "application/pdf");

        var result = await Drive.DownloadAsync(FileId, DriveResponses.Token);

        var file = Assert.IsType<FetchedFile>(result.Value);
        Assert.Equal("HOLE-12 drawing.pdf", file.Name);
        Assert.Equal("application/pdf", file.ContentType);
        Assert.Equal("%PDF-1.7\n", Encoding.ASCII.GetString(file.Content.Span));
        Assert.Equal($"https://drive.google.com/file/d/{FileId}/view?usp=drivesdk", file.Link);

        var requests = _stub.Requests.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.All(requests, request => Assert.Equal($"Bearer {DriveResponses.Token}", request.Headers["Authorization"]));
        Assert.Equal($"/drive/v3/files/{FileId}?fields=id,name,mimeType,size,webViewLink&supportsAllDrives=true", requests[0].Path);
        Assert.Equal($"/drive/v3/files/{FileId}?alt=media&supportsAllDrives=true", requests[1].Path);
    }

    [Fact]
    public async Task Should_export_a_Google_document_as_pdf()
    {
        _metadata[FileId] = (_, _) => DriveResponses.Json(DriveResponses.Metadata(FileId, "Hole schedule", "application/vnd.google-apps.document", null));
        _export[FileId] = (_, _) => Results.Bytes("%PDF-export"u8.ToArray(), "application/pdf");

        var result = await Drive.DownloadAsync(FileId, DriveResponses.Token);

        var file = Assert.IsType<FetchedFile>(result.Value);
        Assert.Equal("Hole schedule.pdf", file.Name);
        Assert.Equal("application/pdf", file.ContentType);
        Assert.Equal("%PDF-export", Encoding.ASCII.GetString(file.Content.Span));
        Assert.Equal(1, _stub.Count("GET", $"/drive/v3/files/{FileId}/export?mimeType=application%2Fpdf"));
    }

    [Fact]
    public async Task Should_report_a_folder_as_unsupported_without_downloading()
    {
        _metadata[FileId] = (_, _) => DriveResponses.Json(DriveResponses.Metadata(FileId, "Drawings", "application/vnd.google-apps.folder", null));

        var result = await Drive.DownloadAsync(FileId, DriveResponses.Token);

        Assert.Equal(FetchFailureKind.Unsupported, result.Failure?.Kind);
        Assert.Contains("Drive folder", result.Failure!.Reason, StringComparison.Ordinal);
        Assert.Single(_stub.Requests);
    }

    [Fact]
    public async Task Should_report_an_expired_token_without_retrying()
    {
        _metadata[FileId] = (_, _) => DriveResponses.Json(DriveResponses.Unauthenticated, 401);

        var result = await Drive.DownloadAsync(FileId, DriveResponses.Token);

        Assert.Equal(FetchFailureKind.Unauthorized, result.Failure?.Kind);
        Assert.False(result.Failure!.Retryable);
        Assert.Contains("expired or invalid", result.Failure.Reason, StringComparison.Ordinal);
        Assert.Single(_stub.Requests);
    }

    [Fact]
    public async Task Should_report_a_missing_file()
    {
        var result = await Drive.DownloadAsync("1MissingFileId000000000000", DriveResponses.Token);

        Assert.Equal(FetchFailureKind.NotFound, result.Failure?.Kind);
        Assert.Contains("1MissingFileId000000000000", result.Failure!.Reason, StringComparison.Ordinal);
        Assert.Single(_stub.Requests);
    }

    [Fact]
    public async Task Should_report_missing_access_without_retrying()
    {
        _metadata[FileId] = (_, _) => DriveResponses.Json(DriveResponses.Metadata(FileId, "secret.pdf", "application/pdf", 10));
        _media[FileId] = (_, _) => DriveResponses.Json(DriveResponses.NoPermission, 403);

        var result = await Drive.DownloadAsync(FileId, DriveResponses.Token);

        Assert.Equal(FetchFailureKind.Forbidden, result.Failure?.Kind);
        Assert.Contains("sufficient permissions", result.Failure!.Reason, StringComparison.Ordinal);
        Assert.Equal(1, _stub.Count("GET", $"/drive/v3/files/{FileId}?alt=media"));
    }

    [Fact]
    public async Task Should_report_a_file_Google_refuses_to_serve_as_unsupported()
    {
        _metadata[FileId] = (_, _) => DriveResponses.Json(DriveResponses.Metadata(FileId, "odd", "application/octet-stream", 10));
        _media[FileId] = (_, _) => DriveResponses.Json(DriveResponses.NotDownloadable, 403);

        var result = await Drive.DownloadAsync(FileId, DriveResponses.Token);

        Assert.Equal(FetchFailureKind.Unsupported, result.Failure?.Kind);
    }

    [Fact]
    public async Task Should_retry_through_a_user_rate_limit()
    {
        _metadata[FileId] = (_, call) => call <= 2
            ? DriveResponses.Json(DriveResponses.UserRateLimit, 403)
            : DriveResponses.Json(DriveResponses.Metadata(FileId, "a.txt", "text/plain", 5));
        _media[FileId] = (_, _) => Results.Text("HOLE1", "text/plain");

        var result = await Drive.DownloadAsync(FileId, DriveResponses.Token);

        Assert.True(result.Succeeded, result.Failure?.ToString());
        Assert.Equal(3, _stub.Count("GET", $"/drive/v3/files/{FileId}?fields="));
    }

    [Fact]
    public async Task Should_give_up_on_a_persistent_rate_limit_as_retryable()
    {
        _metadata[FileId] = (_, _) => DriveResponses.Json(DriveResponses.UserRateLimit, 403);

        var result = await Drive.DownloadAsync(FileId, DriveResponses.Token);

        Assert.Equal(FetchFailureKind.RateLimited, result.Failure?.Kind);
        Assert.True(result.Failure!.Retryable);
        Assert.Equal(3, _stub.Count("GET", $"/drive/v3/files/{FileId}?fields="));
    }

    [Fact]
    public async Task Should_retry_a_server_error_on_the_download()
    {
        _metadata[FileId] = (_, _) => DriveResponses.Json(DriveResponses.Metadata(FileId, "a.txt", "text/plain", 5));
        _media[FileId] = (_, call) => call == 1
            ? DriveResponses.Json(DriveResponses.Error(503, "backendError", "Backend Error"), 503)
            : Results.Text("HOLE1", "text/plain");

        var result = await Drive.DownloadAsync(FileId, DriveResponses.Token);

        Assert.Equal("HOLE1", Encoding.UTF8.GetString(result.Value!.Content.Span));
        Assert.Equal(2, _stub.Count("GET", $"/drive/v3/files/{FileId}?alt=media"));
    }

    [Fact]
    public async Task Should_refuse_a_file_whose_declared_size_is_over_the_limit_without_downloading()
    {
        _metadata[FileId] = (_, _) => DriveResponses.Json(DriveResponses.Metadata(FileId, "huge.pdf", "application/pdf", 4097));

        var result = await Drive.DownloadAsync(FileId, DriveResponses.Token);

        Assert.Equal(FetchFailureKind.TooLarge, result.Failure?.Kind);
        Assert.Contains("4 KiB", result.Failure!.Reason, StringComparison.Ordinal);
        Assert.Equal(0, _stub.Count("GET", $"/drive/v3/files/{FileId}?alt=media"));
    }

    [Fact]
    public async Task Should_stop_reading_a_body_that_grows_past_the_limit()
    {
        _metadata[FileId] = (_, _) => DriveResponses.Json(DriveResponses.Metadata(FileId, "liar.pdf", "application/pdf", 10));
        _media[FileId] = (_, _) => Results.Stream(async body =>
        {
            // No Content-Length: the size is only known by counting.
            var chunk = new byte[1000];
            for (var i = 0; i < 10; i++)
                await body.WriteAsync(chunk);
        }, "application/pdf");

        var result = await Drive.DownloadAsync(FileId, DriveResponses.Token);

        Assert.Equal(FetchFailureKind.TooLarge, result.Failure?.Kind);
    }

    [Fact]
    public async Task Should_accept_a_body_exactly_at_the_limit()
    {
        _metadata[FileId] = (_, _) => DriveResponses.Json(DriveResponses.Metadata(FileId, "edge.bin", "application/octet-stream", 4096));
        _media[FileId] = (_, _) => Results.Bytes(new byte[4096], "application/octet-stream");

        var result = await Drive.DownloadAsync(FileId, DriveResponses.Token);

        Assert.Equal(4096, result.Value?.Length);
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("abc?alt=media")]
    [InlineData("")]
    public async Task Should_refuse_an_invalid_file_id_without_calling_Drive(string fileId)
    {
        var result = await Drive.DownloadAsync(fileId, DriveResponses.Token);

        Assert.Equal(FetchFailureKind.InvalidReference, result.Failure?.Kind);
        Assert.Empty(_stub.Requests);
    }

    [Fact]
    public async Task Should_refuse_a_missing_token_without_calling_Drive()
    {
        var result = await Drive.DownloadAsync(FileId, " ");

        Assert.Equal(FetchFailureKind.Unauthorized, result.Failure?.Kind);
        Assert.Empty(_stub.Requests);
    }

    [Fact]
    public async Task Should_time_out_an_attempt_that_never_answers()
    {
        await using var services = DriveResponses.Client(_stub, ("ScanSessions:Drive:AttemptTimeout", "00:00:00.200"), ("ScanSessions:Drive:MaxRetries", "1"));
        _metadata["1HangsBeforeHeaders00000000"] = (context, _) =>
        {
            context.RequestAborted.WaitHandle.WaitOne();
            return Results.Empty;
        };

        var result = await services.GetRequiredService<GoogleDriveClient>().GetMetadataAsync("1HangsBeforeHeaders00000000", DriveResponses.Token);

        Assert.Equal(FetchFailureKind.Timeout, result.Failure?.Kind);
        Assert.True(result.Failure!.Retryable);
        Assert.Equal(2, _stub.Count("GET", "/drive/v3/files/1HangsBeforeHeaders00000000"));
    }
}
