using System.Text.Json.Serialization;
using Sagas.Api.ScanSessions;
using Sagas.Persistence.LlmJobs;
using Sagas.Persistence.ScanSessions;

namespace Sagas.Api.Realtime;

/// <summary>
/// The seed's WebSocket messages (<c>/work/shared/seeds/003_*</c>), field for field, plus <c>session_id</c> so one
/// socket can follow several sessions, and the LLM job messages.
/// </summary>
public static class RealtimeMessages
{
    public const string CompletedMessage = "Processing completed successfully";

    public static object Started(Guid sessionId, DateTimeOffset at) =>
        new StartedMessage("STARTED", "Processing started", at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", global::System.Globalization.CultureInfo.InvariantCulture), sessionId);

    public static object Progress(Guid sessionId, int processed, int total) =>
        new ProgressMessage("PROGRESS", total == 0 ? 100 : (int)(100L * processed / total), processed, total, sessionId);

    public static object Match(Guid sessionId, string holeCode, string fileName, string status, string? link) =>
        new MatchFoundMessage("MATCH_FOUND", new MatchData(holeCode, fileName, status, link), sessionId);

    public static object Complete(Guid sessionId, string downloadUrl, int totalMatches, int totalProcessed) =>
        new CompleteMessage("COMPLETE", downloadUrl, totalMatches, totalProcessed, CompletedMessage, sessionId);

    public static object Error(string message, Guid? sessionId = null) => new ErrorMessage("ERROR", message, sessionId);

    public static object State(ScanSession session) =>
        new ScanStateMessage("STATE", session.Id, session.Status, ScanSessionView.PercentOf(session), session.ProcessedFiles, session.TotalFiles,
            session.MatchedFiles, session.TotalMatches, session.ErrorFiles, session.Error);

    public static object LlmJobState(string type, Guid jobId, string status, int total, int processed, int succeeded, int failed, int cancelled) =>
        new LlmJobMessage(type, jobId, status, total == 0 ? 100 : (int)(100L * processed / total), total, processed, succeeded, failed, cancelled);

    public static object LlmJobState(string type, LlmJob job) =>
        LlmJobState(type, job.Id, job.Status, job.TotalItems, job.ProcessedItems, job.SucceededItems, job.FailedItems, job.CancelledItems);

    public const string LlmJobStateType = "LLM_JOB_STATE";
    public const string LlmJobProgressType = "LLM_JOB_PROGRESS";
    public const string LlmJobCompleteType = "LLM_JOB_COMPLETE";
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
    [property: JsonPropertyName("session_id")] Guid SessionId);

public sealed record MatchData(
    [property: JsonPropertyName("hole_code")] string HoleCode,
    [property: JsonPropertyName("file_name")] string FileName,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("pdf_link")] string? PdfLink);

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
    [property: JsonPropertyName("session_id")] Guid SessionId);

public sealed record ErrorMessage(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("session_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? SessionId);

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

public sealed record LlmJobMessage(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("job_id")] Guid JobId,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("value")] int Value,
    [property: JsonPropertyName("total")] int Total,
    [property: JsonPropertyName("processed")] int Processed,
    [property: JsonPropertyName("succeeded")] int Succeeded,
    [property: JsonPropertyName("failed")] int Failed,
    [property: JsonPropertyName("cancelled")] int Cancelled);
