using System.Net;
using System.Net.Http.Headers;
using Sagas.Storage.Blobs;
using Sagas.Storage.Content;

namespace Sagas.ScanSessions.Fetching;

/// <summary>Reads a plain http(s) URL from a manifest under the size and time limits; refuses every other scheme.</summary>
public sealed class UrlFileFetcher(HttpClient httpClient, ScanFetchingOptions options)
{
    public const string HttpClientName = "scan-url";

    public static FetchFailure? Check(Uri? address)
    {
        if (address is null || !address.IsAbsoluteUri)
            return new FetchFailure(FetchFailureKind.InvalidReference, "The file link is not an absolute URL.");
        if (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps)
            return new FetchFailure(FetchFailureKind.InvalidReference, $"Only http and https links can be scanned, not '{address.Scheme}:'.");
        if (!string.IsNullOrEmpty(address.UserInfo))
            return new FetchFailure(FetchFailureKind.InvalidReference, "Links with a user name or password in them are not accepted.");
        return null;
    }

    public async Task<FetchResult<FetchedFile>> FetchAsync(Uri address, CancellationToken cancellationToken)
    {
        if (Check(address) is { } invalid)
            return invalid;

        var shown = WithoutQuery(address);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, address);
            using var response = await httpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
                return MapStatus(shown, response.StatusCode);

            var finalAddress = response.RequestMessage?.RequestUri ?? address;
            if (Check(finalAddress) is { } redirected)
                return redirected;

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var (buffer, length) = await BoundedContent.ReadAsync(body, options.MaxFileBytes, response.Content.Headers.ContentLength, cancellationToken);
            var name = FileNameOf(response.Content.Headers.ContentDisposition, finalAddress);
            var contentType = response.Content.Headers.ContentType?.MediaType ?? "application/octet-stream";
            return new FetchedFile(name, contentType, buffer, length, WithoutQuery(address));
        }
        catch (ContentTooLargeException)
        {
            return new FetchFailure(FetchFailureKind.TooLarge, $"{shown} is larger than the limit of {BoundedContent.Describe(options.MaxFileBytes)}.");
        }
        catch (UriFormatException)
        {
            // SocketsHttpHandler fails this way on a redirect to a location it cannot parse as an http authority.
            return new FetchFailure(FetchFailureKind.Failed, $"{shown} redirects to a link that is not http(s).");
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && Find<PrivateNetworkAddressException>(exception) is { } blocked)
        {
            return new FetchFailure(FetchFailureKind.Forbidden, blocked.Message);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && exception is HttpRequestException or IOException)
        {
            return new FetchFailure(FetchFailureKind.Unavailable, $"{shown} could not be reached: {exception.Message}", Retryable: true);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && exception is OperationCanceledException or Polly.Timeout.TimeoutRejectedException)
        {
            return new FetchFailure(FetchFailureKind.Timeout, $"{shown} did not answer in time.", Retryable: true);
        }
    }

    private static FetchFailure MapStatus(string shown, HttpStatusCode status) => (int)status switch
    {
        404 or 410 => new FetchFailure(FetchFailureKind.NotFound, $"{shown} was not found (HTTP {(int)status})."),
        401 => new FetchFailure(FetchFailureKind.Unauthorized, $"{shown} needs a login (HTTP 401)."),
        403 => new FetchFailure(FetchFailureKind.Forbidden, $"{shown} refused access (HTTP 403)."),
        429 => new FetchFailure(FetchFailureKind.RateLimited, $"{shown} is rate limiting requests (HTTP 429).", Retryable: true),
        408 or 504 => new FetchFailure(FetchFailureKind.Timeout, $"{shown} timed out (HTTP {(int)status}).", Retryable: true),
        // HttpClient hands back the redirect itself when the hop limit is reached or the target is not http(s).
        >= 300 and < 400 => new FetchFailure(FetchFailureKind.Failed, $"{shown} redirects too often or to a link that is not http(s) (HTTP {(int)status})."),
        >= 500 => new FetchFailure(FetchFailureKind.Unavailable, $"{shown} failed with HTTP {(int)status}.", Retryable: true),
        _ => new FetchFailure(FetchFailureKind.Failed, $"{shown} answered HTTP {(int)status}."),
    };

    private static string FileNameOf(ContentDispositionHeaderValue? disposition, Uri address)
    {
        var declared = disposition?.FileNameStar ?? disposition?.FileName?.Trim('"');
        if (!string.IsNullOrWhiteSpace(declared))
            return DownloadFileName.Sanitize(declared);
        var lastSegment = Uri.UnescapeDataString(address.Segments.LastOrDefault()?.TrimEnd('/') ?? "");
        return DownloadFileName.Sanitize(lastSegment, address.Host);
    }

    /// <summary>
    /// The URL without its query and fragment, which may carry credentials (a signed URL's signature) that must not end
    /// up in a report, an event or a log; what is left is what a user recognises the file by.
    /// </summary>
    public static string WithoutQuery(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.GetLeftPart(UriPartial.Path);
    }

    private static T? Find<T>(Exception? exception)
        where T : Exception
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is T match)
                return match;
        }

        return null;
    }
}
