using System.Globalization;

namespace Sagas.PromptAnalyses.Platforms;

/// <summary>A citation as a provider gave it, before normalisation.</summary>
/// <param name="DomainHint">
/// A domain the provider states separately from the URL (Gemini's chunk title, whose URI is a Google redirect).
/// </param>
public sealed record RawCitation(string? Url, string? Title, string? Snippet = null, string? DomainHint = null);

/// <summary>Turns provider citations into <see cref="Citation"/>s: http(s) only, de-duplicated by URL, positions 1..n.</summary>
public static class CitationNormalizer
{
    private static readonly IdnMapping Idn = new();

    /// <summary>
    /// Hosts that only redirect to the real source. For their URLs the domain comes from the provider's hint (Gemini's
    /// chunk title is the source's domain) because resolving the redirect would cost a request per citation.
    /// </summary>
    private static readonly string[] RedirectHosts = ["vertexaisearch.cloud.google.com"];

    public static IReadOnlyList<Citation> Normalize(IEnumerable<RawCitation> raw)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var citations = new List<Citation>();
        foreach (var candidate in raw)
        {
            if (!TryParseWebUrl(candidate.Url, out var uri))
                continue;

            // Uri normalises scheme and host case and default ports, so the same page cited twice collapses.
            var key = uri.GetComponents(UriComponents.HttpRequestUrl, UriFormat.UriEscaped);
            if (!seen.Add(key))
                continue;

            var domain = DomainOf(uri, candidate.DomainHint);
            citations.Add(new Citation(
                candidate.Url!.Trim(),
                domain,
                string.IsNullOrWhiteSpace(candidate.Title) ? null : candidate.Title.Trim(),
                citations.Count + 1,
                string.IsNullOrWhiteSpace(candidate.Snippet) ? null : candidate.Snippet.Trim()));
        }

        return citations;
    }

    /// <summary>
    /// Lower-case ASCII host without <c>www.</c>, a port, a path or a trailing dot. Accepts a bare domain or a URL;
    /// returns null when nothing host-like is left.
    /// </summary>
    public static string? NormalizeDomain(string? value)
    {
        var text = value?.Trim();
        if (string.IsNullOrEmpty(text))
            return null;

        var host = Uri.TryCreate(text.Contains("://", StringComparison.Ordinal) ? text : "http://" + text, UriKind.Absolute, out var uri)
            ? uri.Host
            : null;
        if (string.IsNullOrEmpty(host) || !host.Contains('.', StringComparison.Ordinal) && host != "localhost")
            return null;

        host = host.TrimEnd('.').ToLowerInvariant();
        try
        {
            host = Idn.GetAscii(host);
        }
        catch (ArgumentException)
        {
            return null;
        }

        return host.StartsWith("www.", StringComparison.Ordinal) ? host[4..] : host;
    }

    private static string DomainOf(Uri uri, string? hint)
    {
        var fromUrl = NormalizeDomain(uri.Host) ?? uri.Host.ToLowerInvariant();
        if (hint is null || !RedirectHosts.Contains(fromUrl, StringComparer.Ordinal))
            return fromUrl;

        // The hint is only trusted when it looks like a bare host name, not a page title with spaces.
        return !hint.Trim().Contains(' ', StringComparison.Ordinal) && NormalizeDomain(hint) is { } hinted ? hinted : fromUrl;
    }

    private static bool TryParseWebUrl(string? value, out Uri uri)
    {
        uri = null!;
        return !string.IsNullOrWhiteSpace(value)
            && Uri.TryCreate(value.Trim(), UriKind.Absolute, out uri!)
            && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            && !string.IsNullOrEmpty(uri.Host);
    }
}
