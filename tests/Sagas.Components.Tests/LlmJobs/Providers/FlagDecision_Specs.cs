using Sagas.LlmJobs.Providers;

namespace Sagas.Components.Tests.LlmJobs.Providers;

public sealed class When_a_flag_decision_is_parsed
{
    [Fact]
    public void Should_accept_a_complete_decision()
    {
        Assert.True(FlagDecision.TryParse("""{"flagged":false,"category":" none ","confidence":1,"reason":"Fine."}""", out var decision, out var error));
        Assert.Equal(new FlagDecision(false, "none", 1, "Fine."), decision);
        Assert.Null(error);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("[]", "not an object")]
    [InlineData("""{"category":"x","confidence":0.5,"reason":"r"}""", "'flagged'")]
    [InlineData("""{"flagged":"true","category":"x","confidence":0.5,"reason":"r"}""", "'flagged'")]
    [InlineData("""{"flagged":true,"confidence":0.5,"reason":"r"}""", "'category'")]
    [InlineData("""{"flagged":true,"category":"x","confidence":1.5,"reason":"r"}""", "'confidence'")]
    [InlineData("""{"flagged":true,"category":"x","confidence":-0.1,"reason":"r"}""", "'confidence'")]
    [InlineData("""{"flagged":true,"category":"x","confidence":0.5}""", "'reason'")]
    [InlineData("""{"flagged":true,"category":"x","confidence":0.5,"reason":"r""", "not valid JSON")]
    public void Should_reject_an_answer_that_is_not_a_decision_saying_why(string text, string reasonPart)
    {
        Assert.False(FlagDecision.TryParse(text, out var decision, out var error));
        Assert.Null(decision);
        Assert.Contains(reasonPart, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_publish_a_strict_schema_on_one_line()
    {
        var schema = FlagDecision.JsonSchema.ToString();
        Assert.DoesNotContain('\n', schema);
        Assert.Contains("\"additionalProperties\":false", schema, StringComparison.Ordinal);
    }
}
