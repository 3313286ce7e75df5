using System.Text.RegularExpressions;

namespace Sagas.PromptAnalyses.Platforms.Brands;

/// <summary>Whether an answer mentions the project's brands and cites the project's domains.</summary>
/// <param name="MentionedBrands">The configured brand names found in the text, in configuration order.</param>
/// <param name="CitedDomains">The project domains at least one citation matched, in configuration order.</param>
/// <param name="MatchingCitationPositions">Positions of the citations that point at a project domain.</param>
public sealed record BrandAnalysisResult(
    IReadOnlyList<string> MentionedBrands,
    IReadOnlyList<string> CitedDomains,
    IReadOnlyList<int> MatchingCitationPositions)
{
    public bool BrandMentioned => MentionedBrands.Count > 0;

    public bool DomainCited => CitedDomains.Count > 0;
}

public static class BrandAnalysis
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    public static BrandAnalysisResult Analyze(
        string? responseText,
        IEnumerable<Citation> citations,
        IEnumerable<string> brandNames,
        IEnumerable<string> projectDomains)
    {
        var text = responseText ?? "";
        var mentioned = brandNames
            .Where(brand => !string.IsNullOrWhiteSpace(brand))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Where(brand => MentionsBrand(text, brand))
            .ToList();

        var domains = projectDomains
            .Select(domain => (Configured: domain, Normalized: CitationNormalizer.NormalizeDomain(domain)))
            .Where(domain => domain.Normalized is not null)
            .DistinctBy(domain => domain.Normalized)
            .ToList();
        var citationList = citations.ToList();
        var citedDomains = domains
            .Where(domain => citationList.Any(citation => DomainMatches(citation.Domain, domain.Normalized!)))
            .Select(domain => domain.Configured.Trim())
            .ToList();
        var positions = citationList
            .Where(citation => domains.Any(domain => DomainMatches(citation.Domain, domain.Normalized!)))
            .Select(citation => citation.Position)
            .ToList();

        return new BrandAnalysisResult(mentioned, citedDomains, positions);
    }

    /// <summary>
    /// Case-insensitive whole-word match: the brand must not be glued to other letters or digits, so "Acme" matches
    /// "Acme's", "(Acme)" and "acme." but not "Acmeology"; spaces inside a brand match any run of white space.
    /// </summary>
    public static bool MentionsBrand(string text, string brand)
    {
        var words = brand.Trim().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
            return false;

        var pattern = @"(?<![\p{L}\p{N}])" + string.Join(@"\s+", words.Select(Regex.Escape)) + @"(?![\p{L}\p{N}])";
        return Regex.IsMatch(text, pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeout);
    }

    /// <summary>
    /// True when the citation's domain is the project domain or one of its subdomains: docs.acme.com matches acme.com;
    /// acme.com.evil.io and notacme.com do not.
    /// </summary>
    public static bool DomainMatches(string? citationDomain, string? projectDomain)
    {
        var cited = CitationNormalizer.NormalizeDomain(citationDomain);
        var project = CitationNormalizer.NormalizeDomain(projectDomain);
        if (cited is null || project is null)
            return false;
        return cited == project || cited.EndsWith("." + project, StringComparison.Ordinal);
    }
}
