using Sagas.Storage.Blobs;
using Sagas.Storage.Local;

namespace Sagas.Api.Storage;

/// <summary>
/// Serves the local blob store's signed links (<see cref="LocalBlobLinks"/>). The signature is the credential: a
/// browser follows the report redirect without an API key. Invalid links get 403, expired ones 410.
/// </summary>
public static class BlobFileEndpoints
{
    public static IEndpointRouteBuilder MapBlobFileEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet($"/{LocalBlobLinks.RoutePrefix}/{{**key}}", DownloadAsync)
            .AllowAnonymous()
            .ExcludeFromDescription();
        return endpoints;
    }

    private static async Task<IResult> DownloadAsync(string? key, HttpContext http, CancellationToken cancellationToken)
    {
        var links = http.RequestServices.GetService<LocalBlobLinks>();
        var store = http.RequestServices.GetService<LocalBlobStore>();
        if (links is null || store is null)
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No local file store", detail: "Files are served by the storage provider's own links.");

        var query = http.Request.Query;
        if (!links.TryValidate(key, query[LocalBlobLinks.ExpiresParameter], query[LocalBlobLinks.NameParameter], query[LocalBlobLinks.SignatureParameter], out var error))
        {
            // The signature is checked before the expiry, so "expired" is only ever said of a genuine link.
            var expired = error.Contains("expired", StringComparison.OrdinalIgnoreCase);
            return Results.Problem(
                statusCode: expired ? StatusCodes.Status410Gone : StatusCodes.Status403Forbidden,
                title: expired ? "The link has expired" : "The link is not valid",
                detail: expired ? "Ask for a new link: report links last one hour." : error);
        }

        try
        {
            var blob = await store.OpenReadAsync(key!, cancellationToken);
            http.Response.Headers.CacheControl = "private, no-store";
            return Results.Stream(blob.Content, blob.ContentType, fileDownloadName: query[LocalBlobLinks.NameParameter].ToString());
        }
        catch (BlobNotFoundException)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such file", detail: "The file behind this link no longer exists.");
        }
    }
}
