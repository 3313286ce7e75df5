using System.Globalization;
using System.Text;
using Sagas.ScanSessions.Matching;

namespace Sagas.Components.Tests.ScanSessions;

public class When_matching_hole_codes_as_whole_tokens
{
    public static TheoryData<string, bool> HoleOneCases => new()
    {
        { "see HOLE-1 here", true },
        { "HOLE-1", true },
        { "hole-1 in lower case", true },
        { "End of sentence HOLE-1.", true },
        { "a list: HOLE-1, HOLE-2; done", true },
        { "(HOLE-1)", true },
        { "\"HOLE-1\"", true },
        { "trailing dash HOLE-1- then space", true },
        { "ellipsis HOLE-1...", true },
        { "HOLE-1's depth", true },
        { "HOLE-1:depth", true },
        { "--HOLE-1", true },
        { "line\nHOLE-1\r\nnext", true },
        { "en dash HOLE\u20131", true },
        { "soft hyphen HO\u00ADLE-1", true },
        { "HOLE-12", false },
        { "XHOLE-1", false },
        { "HOLE-10 and HOLE-11", false },
        { "HOLE-1A", false },
        { "HOLE-1-A", false },
        { "HOLE-1_rev", false },
        { "HOLE-1.5", false },
        { "HOLE-1/2", false },
        { "DWG/HOLE-1", false },
        { "X-HOLE-1", false },
        { "1HOLE-1", false },
        { "HOLE-1\u00e9", false },
        { "HOLE-1\U0001D7D8", false },
        { "HOLE - 1", false },
        { "", false },
    };

    [Theory]
    [MemberData(nameof(HoleOneCases))]
    public void Should_apply_the_token_boundary_rule(string text, bool expected)
    {
        var matcher = HoleCodeMatcher.Create(["HOLE-1"]);

        var match = matcher.Match(text);

        Assert.Equal(expected ? ["HOLE-1"] : Array.Empty<string>(), match.Codes);
    }

    [Theory]
    [MemberData(nameof(HoleOneCases))]
    public void Should_give_the_same_answers_with_sparse_transitions(string text, bool expected)
    {
        var matcher = HoleCodeMatcher.Create(["HOLE-1"], HoleCodeLimits.Default, forceSparse: true);

        Assert.False(matcher.UsesDenseTable);
        Assert.Equal(expected, matcher.Match(text).Codes.Count == 1);
    }

    [Fact]
    public void Should_report_distinct_codes_in_target_list_order_with_the_given_spelling()
    {
        var matcher = HoleCodeMatcher.Create(["Hole-3", "HOLE-1", "hole-2", "HOLE-9"]);

        var match = matcher.Match("HOLE-2 then hole-1 then HOLE-2 again and HOLE-3.");

        Assert.Equal(["Hole-3", "HOLE-1", "hole-2"], match.Codes);
        Assert.Equal("3 Codes", match.Status);
    }

    [Fact]
    public void Should_prefer_the_longer_code_when_one_code_extends_another()
    {
        var matcher = HoleCodeMatcher.Create(["HOLE-1", "HOLE-1-A", "HOLE-12"]);

        Assert.Equal(["HOLE-1-A"], matcher.Match("only HOLE-1-A here").Codes);
        Assert.Equal(["HOLE-12"], matcher.Match("only HOLE-12 here").Codes);
        Assert.Equal(["HOLE-1", "HOLE-1-A"], matcher.Match("HOLE-1-A and HOLE-1").Codes);
    }

    [Fact]
    public void Should_find_a_code_that_is_a_suffix_of_a_non_matching_occurrence_elsewhere()
    {
        // The automaton must keep following failure links after a rejected candidate.
        var matcher = HoleCodeMatcher.Create(["AB-1", "B-1"]);

        Assert.Equal(["B-1"], matcher.Match("XAB-1 and B-1").Codes);
        Assert.Equal(["B-1"], matcher.Match("(B-1)").Codes);
        Assert.Empty(matcher.Match("AB-12").Codes);
    }

    [Fact]
    public void Should_match_codes_with_spaces_across_any_white_space()
    {
        var matcher = HoleCodeMatcher.Create(["  Bore  Hole 7 "]);

        Assert.Equal(["Bore  Hole 7"], matcher.Match("log of bore\thole\n 7, depth 20 m").Codes);
        Assert.Empty(matcher.Match("bore hole 77").Codes);
        Assert.Empty(matcher.Match("borehole 7").Codes);
    }

    [Fact]
    public void Should_let_a_code_edged_by_punctuation_be_delimited_by_it()
    {
        var matcher = HoleCodeMatcher.Create(["(A)", "#12"]);

        Assert.Equal(["(A)", "#12"], matcher.Match("x(A)y and ref#12").Codes);
        Assert.Empty(matcher.Match("ref#123").Codes);
    }

    [Fact]
    public void Should_ignore_blank_and_duplicate_codes()
    {
        var matcher = HoleCodeMatcher.Create(["HOLE-1", " ", null, "hole-1", "HOLE\u20131", "HOLE-2"]);

        Assert.Equal(["HOLE-1", "HOLE-2"], matcher.Codes);
    }

    [Fact]
    public void Should_refuse_a_list_without_usable_codes()
    {
        var error = Assert.Throws<ArgumentException>(() => HoleCodeMatcher.Create(["", "  ", null]));

        Assert.StartsWith(HoleCodeList.EmptyListError, error.Message, StringComparison.Ordinal);
        Assert.Equal(HoleCodeList.EmptyListError, HoleCodeList.Validate([]));
        Assert.Equal(HoleCodeList.EmptyListError, HoleCodeList.Validate(null));
    }

    [Fact]
    public void Should_refuse_lists_over_the_limits()
    {
        var limits = new HoleCodeLimits(MaxCodes: 2, MaxCodeLength: 5);

        Assert.Equal("The hole code list has more than 2 distinct codes.", HoleCodeList.Validate(["A", "B", "C"], limits));
        Assert.Equal("Hole code #2 is 6 characters long; the limit is 5.", HoleCodeList.Validate(["A", "ABCDEF"], limits));
        Assert.Null(HoleCodeList.Validate(["A", "a", "B"], limits));
    }

    [Fact]
    public void Should_find_every_one_of_thousands_of_codes_and_nothing_else()
    {
        var codes = Enumerable.Range(1, 5000).Select(n => string.Create(CultureInfo.InvariantCulture, $"HOLE-{n}")).ToList();
        var text = new StringBuilder();
        var expected = new List<string>();
        for (var n = 1; n <= 5000; n += 7)
        {
            text.Append(CultureInfo.InvariantCulture, $"hole-{n} ");
            expected.Add(string.Create(CultureInfo.InvariantCulture, $"HOLE-{n}"));
        }

        // Near misses that must not count: longer numbers and prefixed codes.
        text.Append("HOLE-50000 XHOLE-2 HOLE-3-B HOLE-4.1");

        var dense = HoleCodeMatcher.Create(codes);
        var sparse = HoleCodeMatcher.Create(codes, HoleCodeLimits.Default, forceSparse: true);

        Assert.True(dense.UsesDenseTable);
        Assert.Equal(expected, dense.Match(text.ToString()).Codes);
        Assert.Equal(expected, sparse.Match(text.ToString()).Codes);
    }
}

public class When_naming_a_match_count
{
    [Theory]
    [InlineData(0, "No Code")]
    [InlineData(1, "1 Code")]
    [InlineData(2, "2 Codes")]
    [InlineData(1234, "1234 Codes")]
    public void Should_use_the_status_strings_of_the_protocol_and_the_report(int count, string status)
    {
        Assert.Equal(status, ScanStatus.ForMatchCount(count));
    }

    [Fact]
    public void Should_name_the_error_status()
    {
        Assert.Equal("Error", ScanStatus.Error);
    }
}
