using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.ScanSessions;
using Sagas.Modules.Api;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Ocr;
using Sagas.Storage.Blobs;

namespace Sagas.ScanSessions.Api;

public static class ScanSessionEndpoints
{
    /// <summary>Result filter values of <c>GET /api/scan-sessions/{id}/results?status=</c>.</summary>
    public static readonly IReadOnlyList<string> ResultStatuses = [ScanStatus.NoCode, ScanStatus.OneCode, "N Codes", ScanStatus.Error];

    public static IEndpointRouteBuilder MapScanSessionEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/scan-sessions").WithTags("Scan sessions");

        group.MapPost("/", StartAsync).Mutation()
            .WithSummary("Starts a scan session from JSON (file content in base64, an S3 prefix or URLs) or multipart (files, a ZIP or a manifest).")
            .Accepts<StartScanSessionRequest>("application/json", "multipart/form-data")
            .Produces<AcceptedScanSession>(StatusCodes.Status202Accepted).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        group.MapGet("/", ListAsync)
            .WithSummary("Lists sessions, newest first, optionally by status and by when they were created (createdAfter, createdBefore: ISO 8601 instants).")
            .Produces<PageOf<ScanSessionView>>().ProducesValidationProblem();
        group.MapGet("/{id:guid}", GetAsync).WithSummary("A session's status and counters.");
        group.MapGet("/{id:guid}/results", ResultsAsync).WithSummary("A page of per-file results, in file order, optionally by status or matched.");
        group.MapGet("/{id:guid}/report", ReportAsync)
            .WithSummary("Redirects (302) to an expiring download link of the Excel report once the session is completed; 410 after retention deleted it.");
        group.MapPost("/{id:guid}/cancel", CancelAsync).Mutation().WithSummary("Cancels a session that is still dispatching or scanning.");
        return endpoints;
    }

    private static async Task<IResult> StartAsync(HttpContext http, ScanSessionStarter starter, ScanFilesOptions fileOptions, CancellationToken cancellationToken)
    {
        ScanSessionSubmission submission;
        if (http.Request.HasFormContentType)
        {
            // Uploads are far larger than JSON bodies: this route alone lifts the server's body limit to the upload limit
            // (and a little for the form's own parts). A declared length over it is refused before any byte is read.
            var bodyLimit = fileOptions.MaxUploadBytes + (1024 * 1024);
            if (http.Request.ContentLength > bodyLimit)
                return Problem(ScanSessionStarter.UploadTooLarge(fileOptions));
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = bodyLimit;
            IFormCollection form;
            try
            {
                form = await http.Request.ReadFormAsync(cancellationToken);
            }
            catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                // A body without a declared length, stopped by the server at the limit: not a truncated multipart body.
                return Problem(ScanSessionStarter.UploadTooLarge(fileOptions));
            }
            catch (InvalidDataException exception) when (exception.Message.Contains("length limit", StringComparison.OrdinalIgnoreCase))
            {
                return Problem(new ScanSubmissionError("files", "The upload is larger than the API accepts (Api:MaxUploadBytes).", StatusCodes.Status413PayloadTooLarge));
            }
            catch (InvalidDataException)
            {
                return Problem(new ScanSubmissionError("body", "The multipart body could not be read."));
            }
            catch (IOException) when (!http.RequestAborted.IsCancellationRequested)
            {
                // A multipart body that ends before its closing boundary surfaces as an IOException, not as invalid data.
                return Problem(new ScanSubmissionError("body", "The multipart body ended before its closing boundary."));
            }

            submission = FromForm(form, http.User.Identity?.Name);
        }
        else if (http.Request.HasJsonContentType())
        {
            var request = await http.Request.ReadFromJsonAsync<StartScanSessionRequest>(cancellationToken);
            if (request is null)
                return Problem(new ScanSubmissionError("body", "A JSON body is required."));
            byte[]? content = null;
            if (request.FileContent is { } base64)
            {
                content = new byte[base64.Length * 3 / 4 + 3];
                if (!Convert.TryFromBase64String(base64, content, out var written))
                    return Problem(new ScanSubmissionError("fileContent", "fileContent is not valid base64."));
                Array.Resize(ref content, written);
            }

            submission = new ScanSessionSubmission
            {
                Codes = request.TargetHoleCodes,
                FileContent = content,
                FileContentName = request.FileName,
                S3Prefix = request.S3Prefix,
                Urls = request.Urls,
                DriveToken = request.DriveToken,
                RequestedBy = http.User.Identity?.Name,
            };
        }
        else
        {
            return Results.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported content type",
                detail: "Send application/json or multipart/form-data.");
        }

        var (sessionId, error) = await starter.StartAsync(submission, cancellationToken);
        return error is not null
            ? Problem(error)
            : Results.Accepted($"/api/scan-sessions/{sessionId}", new AcceptedScanSession(sessionId!.Value));
    }

    private static ScanSessionSubmission FromForm(IFormCollection form, string? caller)
    {
        // Codes may come as repeated fields or as one field separated by commas, semicolons or new lines.
        var codes = form["targetHoleCodes"].Concat(form["target_hole_codes"])
            .SelectMany(value => (value ?? "").Split([',', ';', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
            .Select(code => (string?)code)
            .ToList();
        var manifest = form.Files.GetFile("manifest");
        return new ScanSessionSubmission
        {
            Codes = codes,
            Files = [.. form.Files.Where(f => f.Name is "files" or "file" or "zip").Select(ToIncoming)],
            Manifest = manifest is null ? null : ToIncoming(manifest),
            DriveToken = form["driveToken"].FirstOrDefault() ?? form["token"].FirstOrDefault(),
            RequestedBy = caller,
        };
    }

    private static IncomingFile ToIncoming(IFormFile file) =>
        new(string.IsNullOrWhiteSpace(file.FileName) ? file.Name : Path.GetFileName(file.FileName), file.OpenReadStream(), file.Length,
            string.IsNullOrWhiteSpace(file.ContentType) ? "application/octet-stream" : file.ContentType);

    private static async Task<IResult> ListAsync(
        SagasDbContext db, string? status, DateTimeOffset? createdAfter, DateTimeOffset? createdBefore, int? page, int? pageSize, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var wanted = status is null ? null : ScanSessionStatus.All.FirstOrDefault(s => string.Equals(s, status.Trim(), StringComparison.OrdinalIgnoreCase));
        if (status is not null && wanted is null)
            errors["status"] = [$"status is one of: {string.Join(", ", ScanSessionStatus.All)}."];
        if (createdAfter is { } after && createdBefore is { } before && after >= before)
            errors["createdBefore"] = ["createdBefore must be later than createdAfter."];
        if (!Paging.TryCreate(page, pageSize, errors, out var paging) || errors.Count > 0)
            return Results.ValidationProblem(errors);

        var query = db.Set<ScanSession>().AsNoTracking();
        if (wanted is not null)
            query = query.Where(s => s.Status == wanted);
        // Stored instants are UTC; SQLite compares them as encoded numbers, which only order right in one offset.
        if (createdAfter is { } from)
        {
            var fromUtc = from.ToUniversalTime();
            query = query.Where(s => s.CreatedAt >= fromUtc);
        }

        if (createdBefore is { } to)
        {
            var toUtc = to.ToUniversalTime();
            query = query.Where(s => s.CreatedAt < toUtc);
        }

        var total = await query.CountAsync(cancellationToken);
        var sessions = await query.OrderByDescending(s => s.CreatedAt).ThenBy(s => s.Id).Skip(paging.Skip).Take(paging.PageSize).ToListAsync(cancellationToken);
        return Results.Ok(new PageOf<ScanSessionView>([.. sessions.Select(ScanSessionView.From)], paging.Page, paging.PageSize, total));
    }

    private static async Task<IResult> GetAsync(Guid id, SagasDbContext db, CancellationToken cancellationToken)
    {
        var session = await db.Set<ScanSession>().AsNoTracking().SingleOrDefaultAsync(s => s.Id == id, cancellationToken);
        return session is null ? NotFound(id) : Results.Ok(ScanSessionView.From(session));
    }

    private static async Task<IResult> ResultsAsync(Guid id, SagasDbContext db, string? status, bool? matched, int? page, int? pageSize, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var filter = status is null ? null : ResultStatuses.FirstOrDefault(s => string.Equals(s, status.Trim(), StringComparison.OrdinalIgnoreCase));
        if (status is not null && filter is null)
            errors["status"] = [$"status is one of: {string.Join(", ", ResultStatuses)}."];
        if (!Paging.TryCreate(page, pageSize, errors, out var paging) || errors.Count > 0)
            return Results.ValidationProblem(errors);

        if (!await db.Set<ScanSession>().AnyAsync(s => s.Id == id, cancellationToken))
            return NotFound(id);

        var query = db.Set<ScanFileResult>().AsNoTracking().Where(r => r.SessionId == id);
        query = filter switch
        {
            null => query,
            "N Codes" => query.Where(r => r.Status != ScanStatus.Error && r.MatchCount > 1),
            _ => query.Where(r => r.Status == filter),
        };
        if (matched is { } wantMatched)
            query = wantMatched ? query.Where(r => r.MatchCount > 0) : query.Where(r => r.MatchCount == 0);

        var total = await query.CountAsync(cancellationToken);
        var rows = await query.OrderBy(r => r.FileIndex).Skip(paging.Skip).Take(paging.PageSize).ToListAsync(cancellationToken);
        return Results.Ok(new PageOf<ScanFileResultView>([.. rows.Select(ScanFileResultView.From)], paging.Page, paging.PageSize, total));
    }

    private static async Task<IResult> ReportAsync(Guid id, SagasDbContext db, IBlobStore blobs, CancellationToken cancellationToken)
    {
        var session = await db.Set<ScanSession>().AsNoTracking().SingleOrDefaultAsync(s => s.Id == id, cancellationToken);
        if (session is null)
            return NotFound(id);
        if (session is { Status: ScanSessionStatus.Completed, ReportBlobKey: null })
        {
            return Results.Problem(
                statusCode: StatusCodes.Status410Gone,
                title: "The report was deleted",
                detail: $"Session {id} completed on {session.CompletedAt:u}; its report was deleted after the retention period (Retention:Rules:scan-reports:Days).");
        }

        if (session is not { Status: ScanSessionStatus.Completed, ReportBlobKey: { } key })
        {
            var detail = session.Status switch
            {
                ScanSessionStatus.Failed => $"Session {id} failed, so it has no report: {session.Error}",
                ScanSessionStatus.Cancelled => $"Session {id} was cancelled, so it has no report.",
                _ => $"Session {id} is {session.Status}; the report exists once it is completed.",
            };
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "The report is not available", detail: detail);
        }

        var link = await blobs.GetDownloadLinkAsync(key, ReportFileName(id), cancellationToken: cancellationToken);
        return Results.Redirect(link.OriginalString);
    }

    private static async Task<IResult> CancelAsync(Guid id, SagasDbContext db, IPublishEndpoint publisher, CancellationToken cancellationToken)
    {
        var session = await db.Set<ScanSession>().AsNoTracking().SingleOrDefaultAsync(s => s.Id == id, cancellationToken);
        if (session is null)
            return NotFound(id);
        if (session.Status is not (ScanSessionStatus.Dispatching or ScanSessionStatus.Scanning))
        {
            return Results.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The session can no longer be cancelled",
                detail: $"Session {id} is {session.Status}; only dispatching or scanning sessions can be cancelled.");
        }

        await publisher.Publish(new CancelScanSession(id), cancellationToken);
        return Results.Accepted($"/api/scan-sessions/{id}", new AcceptedScanSession(id));
    }

    public static string ReportFileName(Guid id) => $"scan-report-{id:N}.xlsx";

    private static IResult NotFound(Guid id) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such scan session", detail: $"There is no scan session {id}.");

    private static IResult Problem(ScanSubmissionError error) =>
        error.StatusCode == StatusCodes.Status400BadRequest
            ? Results.ValidationProblem(new Dictionary<string, string[]> { [error.Field] = [error.Message] }, title: "The scan session was not started")
            : Results.Problem(statusCode: error.StatusCode, title: "The scan session was not started", detail: error.Message);
}

public sealed record StartScanSessionRequest(
    List<string?>? TargetHoleCodes,
    string? FileContent,
    string? FileName,
    string? S3Prefix,
    List<string?>? Urls,
    string? DriveToken);

public sealed record AcceptedScanSession(Guid Id);

public sealed record ScanSessionView(
    Guid Id,
    string Status,
    int? TotalFiles,
    int ProcessedFiles,
    int MatchedFiles,
    int TotalMatches,
    int ErrorFiles,
    int Percent,
    IReadOnlyList<string> TargetHoleCodes,
    string Source,
    string? RequestedBy,
    string? Error,
    string? ReportUrl,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DispatchedAt,
    DateTimeOffset? CompletedAt,
    int OcrPages = 0,
    double OcrSeconds = 0)
{
    public static ScanSessionView From(ScanSession session) => new(
        session.Id, session.Status, session.TotalFiles, session.ProcessedFiles, session.MatchedFiles, session.TotalMatches, session.ErrorFiles,
        PercentOf(session), JsonSerializer.Deserialize<string[]>(session.CodesJson) ?? [], session.SourceDescription, session.RequestedBy, session.Error,
        session.Status == ScanSessionStatus.Completed ? $"/api/scan-sessions/{session.Id}/report" : null,
        session.CreatedAt, session.DispatchedAt, session.CompletedAt, session.OcrPages, Realtime.ScanSessionRealtime.Seconds(session.OcrMilliseconds));

    public static int PercentOf(ScanSession session) => session.TotalFiles switch
    {
        null => 0,
        0 => 100,
        var total => (int)(100L * session.ProcessedFiles / total.Value),
    };
}

public sealed record ScanFileResultView(int Index, string Name, string Kind, string Status, IReadOnlyList<string> MatchedCodes, string? Link, string? Error, DateTimeOffset ProcessedAt, IReadOnlyList<OcrCodeMatch>? OcrMatches = null, int OcrPages = 0)
{
    public static ScanFileResultView From(ScanFileResult row) => new(
        row.FileIndex, row.Name, row.Kind, row.Status, JsonSerializer.Deserialize<string[]>(row.MatchedCodesJson) ?? [], row.Link, row.Error, row.ProcessedAt,
        OcrMatchJson.Read(row.OcrMatchesJson), row.OcrPages);
}
