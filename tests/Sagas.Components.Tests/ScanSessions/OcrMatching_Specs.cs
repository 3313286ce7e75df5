using Sagas.ScanSessions.Matching;

namespace Sagas.Components.Tests.ScanSessions;

public class When_matching_ocr_text
{
    private static readonly HoleCodeMatcher Matcher = HoleCodeMatcher.CreateForOcr(["HOLE-1", "HOLE-12", "BH-O5", "TP-3A", "SB-01"]);

    [Theory]
    [InlineData("see H0LE-12 here", "HOLE-12")]
    [InlineData("see HOLE-I2 here", "HOLE-12")]
    [InlineData("see HO1E-l2 here", "HOLE-12")]
    [InlineData("see HOLE - 12 here", "HOLE-12")]
    [InlineData("see HOLE -12 here", "HOLE-12")]
    [InlineData("see HOLE- 12 here", "HOLE-12")]
    [InlineData("see HOLE—12 here", "HOLE-12")]
    [InlineData("bore BH-05.", "BH-O5")]
    [InlineData("pit TP-3A", "TP-3A")]
    [InlineData("sample 5B-O1", "SB-01")]
    public void Should_tolerate_the_confusions_of_ocr(string text, string code) =>
        Assert.Equal([code], Matcher.Match(text).Codes);

    [Theory]
    [InlineData("HOLE-12")]
    [InlineData("H0LE-12")]
    [InlineData("XHOLE-1")]
    [InlineData("HOLE-1A")]
    [InlineData("HOLE-1-B")]
    public void Should_still_match_whole_tokens_only(string text) =>
        Assert.DoesNotContain("HOLE-1", Matcher.Match(text).Codes);

    [Fact]
    public void Should_not_join_words_that_only_spaces_separate() =>
        Assert.Empty(Matcher.Match("HOLE 12 and TP 3A").Codes);

    [Fact]
    public void Should_report_every_code_that_folds_to_the_same_text()
    {
        var matcher = HoleCodeMatcher.CreateForOcr(["BH-O1", "BH-01", "BH-02"]);

        Assert.Equal(["BH-O1", "BH-01"], matcher.Match("log of BH-01").Codes);
    }

    [Fact]
    public void Should_leave_the_text_layer_matcher_strict() =>
        Assert.Empty(HoleCodeMatcher.Create(["HOLE-12"]).Match("H0LE-12 and HOLE - 12").Codes);
}
