using Sagas.PromptAnalyses.Platforms;
using Sagas.PromptAnalyses.Platforms.Brands;

namespace Sagas.Components.Tests.PromptAnalyses.Platforms;

public class When_looking_for_brand_mentions
{
    [Theory]
    [InlineData("We recommend Acme for this.", "Acme")]
    [InlineData("acme is cheap", "Acme")]
    [InlineData("Try ACME's starter plan.", "Acme")]
    [InlineData("(Acme) and others", "Acme")]
    [InlineData("Tools: Globex, Acme.", "Acme")]
    [InlineData("\"Acme\"", "Acme")]
    [InlineData("Acme-branded tools", "Acme")]
    [InlineData("Ask Acme   Corp about it", "Acme Corp")]
    [InlineData("Use AT&T for connectivity", "AT&T")]
    [InlineData("Written in C++ mostly", "C++")]
    [InlineData("Node.js, Deno and Bun", "Node.js")]
    public void Should_find_the_brand_as_a_whole_word(string text, string brand) =>
        Assert.True(BrandAnalysis.MentionsBrand(text, brand));

    [Theory]
    [InlineData("Acmeology is a field", "Acme")]
    [InlineData("The MegaAcme suite", "Acme")]
    [InlineData("acme2 is different", "Acme")]
    [InlineData("Nothing relevant here", "Acme")]
    [InlineData("Acme Corporation", "Acme Corp")]
    public void Should_not_find_the_brand_inside_other_words(string text, string brand) =>
        Assert.False(BrandAnalysis.MentionsBrand(text, brand));
}

public class When_matching_citations_to_project_domains
{
    [Theory]
    [InlineData("acme.com", "acme.com")]
    [InlineData("docs.acme.com", "acme.com")]
    [InlineData("a.b.acme.com", "acme.com")]
    [InlineData("ACME.com", "https://www.acme.com/")]
    [InlineData("acme.com", "www.acme.com")]
    public void Should_match_the_domain_and_its_subdomains(string cited, string project) =>
        Assert.True(BrandAnalysis.DomainMatches(cited, project));

    [Theory]
    [InlineData("acme.com.evil.io", "acme.com")]
    [InlineData("notacme.com", "acme.com")]
    [InlineData("acme.co", "acme.com")]
    [InlineData("acme.com", "docs.acme.com")]
    [InlineData("", "acme.com")]
    public void Should_not_match_lookalikes(string cited, string project) =>
        Assert.False(BrandAnalysis.DomainMatches(cited, project));

    [Fact]
    public void Should_report_mentions_cited_domains_and_matching_positions()
    {
        var citations = CitationNormalizer.Normalize(
        [
            new RawCitation("https://www.g2.com/crm", "G2"),
            new RawCitation("https://docs.acme.com/start", "Docs"),
            new RawCitation("https://acme.com.evil.io/phish", "Evil"),
        ]);

        var result = BrandAnalysis.Analyze(
            "Acme's CRM is popular; Globex less so.",
            citations,
            brandNames: ["Acme", "Initech", "acme"],
            projectDomains: ["acme.com", "acme.io"]);

        Assert.True(result.BrandMentioned);
        Assert.Equal(["Acme"], result.MentionedBrands);
        Assert.True(result.DomainCited);
        Assert.Equal(["acme.com"], result.CitedDomains);
        Assert.Equal([2], result.MatchingCitationPositions);
    }

    [Fact]
    public void Should_report_nothing_when_neither_brand_nor_domain_appears()
    {
        var result = BrandAnalysis.Analyze("Globex leads.", [], ["Acme"], ["acme.com"]);

        Assert.False(result.BrandMentioned);
        Assert.False(result.DomainCited);
        Assert.Empty(result.MatchingCitationPositions);
    }
}

public class When_normalising_citations
{
    [Fact]
    public void Should_drop_non_web_urls_deduplicate_and_number_from_one()
    {
        var citations = CitationNormalizer.Normalize(
        [
            new RawCitation("https://WWW.Example.com/a", "A"),
            new RawCitation("mailto:someone@example.com", "mail"),
            new RawCitation("not a url", "junk"),
            new RawCitation(null, "none"),
            new RawCitation("https://www.example.com/a", "A again"),
            new RawCitation("http://news.example.org:80/b?x=1", "  B  ", "  snippet "),
        ]);

        Assert.Collection(
            citations,
            first =>
            {
                Assert.Equal("https://WWW.Example.com/a", first.Url);
                Assert.Equal("example.com", first.Domain);
                Assert.Equal(1, first.Position);
            },
            second =>
            {
                Assert.Equal("news.example.org", second.Domain);
                Assert.Equal("B", second.Title);
                Assert.Equal("snippet", second.Snippet);
                Assert.Equal(2, second.Position);
            });
    }

    [Fact]
    public void Should_only_trust_a_domain_hint_for_redirect_urls()
    {
        var citations = CitationNormalizer.Normalize(
        [
            new RawCitation("https://vertexaisearch.cloud.google.com/grounding-api-redirect/abc", "Some Page Title", DomainHint: "Some Page Title"),
            new RawCitation("https://vertexaisearch.cloud.google.com/grounding-api-redirect/def", "www.acme.com", DomainHint: "www.acme.com"),
            new RawCitation("https://www.g2.com/crm", "acme.com", DomainHint: "acme.com"),
        ]);

        Assert.Equal(["vertexaisearch.cloud.google.com", "acme.com", "g2.com"], citations.Select(citation => citation.Domain));
    }
}
