using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Contracts.ScanSessions;
using Sagas.Modules.Realtime;
using Sagas.Persistence;
using Sagas.ScanSessions.Api;
using Sagas.ScanSessions.Data;
using Sagas.Storage.Blobs;

namespace Sagas.ScanSessions.Realtime;

/// <summary>
/// The WebSocket side of scan sessions, the protocol scanner clients already speak, field for field (plus
/// <c>session_id</c>, so one socket can follow several sessions): <c>start_scan</c>,
/// <c>{"action": "subscribe", "session_id": …}</c> and the session's messages.
/// </summary>
public static class ScanSessionRealtime
{
    public const string StartAction = "start_scan";
    public const string SubscriptionProperty = "session_id";
    public const string CompletedMessage = "Processing completed successfully";

    public static string Topic(Guid sessionId) => "scan:" + sessionId.ToString("N");

    public static object Started(Guid sessionId, DateTimeOffset at) =>
        new StartedMessage("STARTED", "Processing started", at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture), sessionId);

    public static object Progress(Guid sessionId, int processed, int total, int ocrPages = 0, double ocrSeconds = 0) =>
        new ProgressMessage("PROGRESS", total == 0 ? 100 : (int)(100L * processed / total), processed, total, sessionId, ocrPages, ocrSeconds);

    /// <summary>OCR time as the API shows it: seconds to one decimal.</summary>
    public static double Seconds(long milliseconds) => Math.Round(milliseconds / 1000.0, 1);

    public static object Match(Guid sessionId, string holeCode, string fileName, string status, string? link, double? ocrConfidence = null) =>
        new MatchFoundMessage("MATCH_FOUND", new MatchData(holeCode, fileName, status, link, ocrConfidence), sessionId);

    public static object Complete(Guid sessionId, string downloadUrl, int totalMatches, int totalProcessed) =>
        new CompleteMessage("COMPLETE", downloadUrl, totalMatches, totalProcessed, CompletedMessage, sessionId);

    public static object State(ScanSession session) =>
        new ScanStateMessage("STATE", session.Id, session.Status, ScanSessionView.PercentOf(session), session.ProcessedFiles, session.TotalFiles,
            session.MatchedFiles, session.TotalMatches, session.ErrorFiles, session.Error);

    /// <summary>Subscribes first, then sends the stored state: an event between the two arrives (perhaps twice), never lost.</summary>
    public static async Task SubscribeAsync(Guid sessionId, IRealtimeSocket socket, CancellationToken cancellationToken)
    {
        socket.Subscribe(Topic(sessionId));
        var db = socket.Services.GetRequiredService<SagasDbContext>();
        var session = await db.Set<ScanSession>().AsNoTracking().SingleOrDefaultAsync(s => s.Id == sessionId, cancellationToken);
        if (session is null)
        {
            socket.Send(RealtimeMessages.Error($"There is no scan session {sessionId}.", sessionId));
            return;
        }

        socket.Send(State(session));
        if (session.TotalFiles is { } total)
            socket.Send(Progress(sessionId, session.ProcessedFiles, total, session.OcrPages, Seconds(session.OcrMilliseconds)));
        switch (session.Status)
        {
            case ScanSessionStatus.Completed when session.ReportBlobKey is { } key:
                var link = await DownloadLinkAsync(socket.Services, sessionId, key, cancellationToken);
                socket.Send(Complete(sessionId, link, session.TotalMatches, session.ProcessedFiles));
                break;
            case ScanSessionStatus.Failed:
                socket.Send(RealtimeMessages.Error(session.Error ?? "The session failed.", sessionId));
                break;
            case ScanSessionStatus.Cancelled:
                socket.Send(RealtimeMessages.Error("The session was cancelled.", sessionId));
                break;
        }
    }

    /// <summary><c>start_scan</c>: token, file_content (base64 of a manifest, a ZIP or a single file), target_hole_codes.</summary>
    public static async Task StartAsync(JsonElement root, IRealtimeSocket socket, CancellationToken cancellationToken)
    {
        using (var lease = socket.AcquireMutation())
        {
            if (!lease.IsAcquired)
            {
                socket.Send(RealtimeMessages.Error($"Too many requests: {socket.MutationRefusal}"));
                return;
            }
        }

        if (!TryReadCodes(root, out var codes))
        {
            socket.Send(RealtimeMessages.Error("target_hole_codes must be an array of strings."));
            return;
        }

        if (!root.TryGetProperty("file_content", out var contentElement) || contentElement.ValueKind != JsonValueKind.String)
        {
            socket.Send(RealtimeMessages.Error("file_content (base64 of a manifest, a ZIP or a single file) is required."));
            return;
        }

        if (!contentElement.TryGetBytesFromBase64(out var content))
        {
            socket.Send(RealtimeMessages.Error("file_content is not valid base64."));
            return;
        }

        var submission = new ScanSessionSubmission
        {
            Codes = codes,
            FileContent = content,
            FileContentName = root.TryGetProperty("file_name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null,
            DriveToken = root.TryGetProperty("token", out var token) && token.ValueKind == JsonValueKind.String ? token.GetString() : null,
            RequestedBy = socket.User,
        };

        var starter = socket.Services.GetRequiredService<ScanSessionStarter>();
        var clock = socket.Services.GetRequiredService<TimeProvider>();
        var (_, error) = await starter.StartAsync(submission, cancellationToken, sessionId =>
        {
            // STARTED goes into the queue before the subscription, so it precedes every event of the session.
            socket.Send(Started(sessionId, clock.GetUtcNow()));
            socket.Subscribe(Topic(sessionId));
        });
        if (error is not null)
            socket.Send(RealtimeMessages.Error(error.Message));
    }

    internal static async Task<string> DownloadLinkAsync(IServiceProvider services, Guid sessionId, string reportKey, CancellationToken cancellationToken)
    {
        var blobs = services.GetRequiredService<IBlobStore>();
        var link = await blobs.GetDownloadLinkAsync(reportKey, ScanSessionEndpoints.ReportFileName(sessionId), cancellationToken: cancellationToken);
        return link.OriginalString;
    }

    private static bool TryReadCodes(JsonElement root, out List<string?> codes)
    {
        codes = [];
        if (!root.TryGetProperty("target_hole_codes", out var array) || array.ValueKind != JsonValueKind.Array)
            return false;
        foreach (var code in array.EnumerateArray())
        {
            if (code.ValueKind != JsonValueKind.String)
                return false;
            codes.Add(code.GetString());
        }

        return true;
    }
}

/// <summary>Relays a session's events from the bus to the sockets following it on this API instance.</summary>
public sealed class ScanSessionRealtimeEvents(IRealtimeHub hub, IServiceProvider services) :
    IConsumer<ScanProgressed>,
    IConsumer<ScanMatchFound>,
    IConsumer<ScanSessionCompleted>,
    IConsumer<ScanSessionFailed>,
    IConsumer<ScanSessionCancelled>
{
    public Task Consume(ConsumeContext<ScanProgressed> context)
    {
        var message = context.Message;
        hub.PublishProgress(ScanSessionRealtime.Topic(message.SessionId), ScanSessionRealtime.Progress(message.SessionId, message.Processed, message.Total, message.OcrPages, message.OcrSeconds), message.Processed >= message.Total);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<ScanMatchFound> context)
    {
        var message = context.Message;
        hub.Publish(ScanSessionRealtime.Topic(message.SessionId), ScanSessionRealtime.Match(message.SessionId, message.HoleCode, message.FileName, message.Status, message.Link, message.OcrConfidence));
        return Task.CompletedTask;
    }

    public async Task Consume(ConsumeContext<ScanSessionCompleted> context)
    {
        var message = context.Message;
        var topic = ScanSessionRealtime.Topic(message.SessionId);
        if (!hub.HasSubscribers(topic))
            return;
        var link = await ScanSessionRealtime.DownloadLinkAsync(services, message.SessionId, message.ReportBlobKey, context.CancellationToken);
        hub.Publish(topic, ScanSessionRealtime.Complete(message.SessionId, link, message.TotalMatches, message.TotalProcessed));
    }

    public Task Consume(ConsumeContext<ScanSessionFailed> context)
    {
        hub.Publish(ScanSessionRealtime.Topic(context.Message.SessionId), RealtimeMessages.Error(context.Message.Reason, context.Message.SessionId));
        return Task.CompletedTask;
    }

    // The row's cancel, not the user's request: a request that lost the race to the last file must not say "cancelled".
    public Task Consume(ConsumeContext<ScanSessionCancelled> context)
    {
        hub.Publish(ScanSessionRealtime.Topic(context.Message.SessionId), RealtimeMessages.Error("The session was cancelled.", context.Message.SessionId));
        return Task.CompletedTask;
    }
}

public sealed record StartedMessage(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("timestamp")] string Timestamp,
    [property: JsonPropertyName("session_id")] Guid SessionId);

public sealed record ProgressMessage(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("value")] int Value,
    [property: JsonPropertyName("processed")] int Processed,
    [property: JsonPropertyName("total")] int Total,
    [property: JsonPropertyName("session_id")] Guid SessionId,
    // Added for OCR (the seed's fields above are unchanged): pages read with OCR so far and their summed time.
    [property: JsonPropertyName("ocr_pages")] int OcrPages = 0,
    [property: JsonPropertyName("ocr_seconds")] double OcrSeconds = 0);

public sealed record MatchData(
    [property: JsonPropertyName("hole_code")] string HoleCode,
    [property: JsonPropertyName("file_name")] string FileName,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("pdf_link")] string? PdfLink,
    // Added for OCR: null when the code is in the file's text layer, else the OCR confidence (0 to 1).
    [property: JsonPropertyName("ocr_confidence")] double? OcrConfidence = null);

public sealed record MatchFoundMessage(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("data")] MatchData Data,
    [property: JsonPropertyName("session_id")] Guid SessionId);

public sealed record CompleteMessage(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("download_url")] string DownloadUrl,
    [property: JsonPropertyName("total_matches")] int TotalMatches,
    [property: JsonPropertyName("total_processed")] int TotalProcessed,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("session_id")] Guid SessionId) : IRealtimeLinks
{
    // Local storage without a public base URL hands out /files/… links; S3 and configured bases are absolute already.
    public object WithAbsoluteLinks(Uri baseAddress) =>
        DownloadUrl.StartsWith('/') ? this with { DownloadUrl = new Uri(baseAddress, DownloadUrl).ToString() } : this;
}

public sealed record ScanStateMessage(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("session_id")] Guid SessionId,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("value")] int Value,
    [property: JsonPropertyName("processed")] int Processed,
    [property: JsonPropertyName("total")] int? Total,
    [property: JsonPropertyName("matched_files")] int MatchedFiles,
    [property: JsonPropertyName("total_matches")] int TotalMatches,
    [property: JsonPropertyName("error_files")] int ErrorFiles,
    [property: JsonPropertyName("error")] string? Error);
