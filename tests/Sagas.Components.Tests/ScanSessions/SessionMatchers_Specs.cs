using Sagas.ScanSessions.Matching;

namespace Sagas.Components.Tests.ScanSessions;

public class When_a_worker_keeps_the_matchers_of_its_sessions
{
    private const string Codes = """["HOLE-1","HOLE-2"]""";

    [Fact]
    public void Should_build_a_sessions_matchers_once_and_hand_back_the_same_ones()
    {
        var matchers = new SessionMatchers();
        var session = Guid.NewGuid();

        var first = matchers.For(session, Codes);
        var again = matchers.For(session, Codes);

        Assert.Same(first.Text, again.Text);
        Assert.Same(first.Ocr, again.Ocr);
        Assert.Equal(2, matchers.Built);
        Assert.Equal(["HOLE-2"], first.Text.Match("drill HOLE-2 here").Codes);
    }

    [Fact]
    public void Should_rebuild_when_the_codes_differ_and_forget_everything_past_the_bound()
    {
        var matchers = new SessionMatchers();
        var session = Guid.NewGuid();
        var kept = matchers.For(session, Codes);

        // Other codes under the same id never reuse the stale automaton.
        var changed = matchers.For(session, """["HOLE-3"]""");
        Assert.NotSame(kept.Text, changed.Text);
        Assert.Equal(4, matchers.Built);

        // Past the bound everything goes: the first session builds again on its next batch.
        for (var i = 0; i < SessionMatchers.MaxSessions; i++)
            matchers.For(Guid.NewGuid(), Codes);
        var built = matchers.Built;
        matchers.For(session, """["HOLE-3"]""");
        Assert.Equal(built + 2, matchers.Built);
    }
}
