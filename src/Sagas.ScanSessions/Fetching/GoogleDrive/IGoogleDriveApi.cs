using Refit;

namespace Sagas.ScanSessions.Fetching.GoogleDrive;

/// <summary>
/// The three Drive v3 calls a scan needs, sent with the user's own OAuth access token. Content calls return the raw
/// response (Refit reads headers only) so the body can be streamed under a size limit.
/// </summary>
public interface IGoogleDriveApi
{
    [Get("/drive/v3/files/{fileId}?fields=id,name,mimeType,size,webViewLink&supportsAllDrives=true")]
    Task<IApiResponse<DriveFileMetadata>> GetMetadataAsync(string fileId, [Authorize("Bearer")] string accessToken, CancellationToken cancellationToken);

    [Get("/drive/v3/files/{fileId}?alt=media&supportsAllDrives=true")]
    Task<HttpResponseMessage> DownloadAsync(string fileId, [Authorize("Bearer")] string accessToken, CancellationToken cancellationToken);

    [Get("/drive/v3/files/{fileId}/export")]
    Task<HttpResponseMessage> ExportAsync(string fileId, [Query] string mimeType, [Authorize("Bearer")] string accessToken, CancellationToken cancellationToken);
}
