using System.Text;
using Sagas.Core.Webhooks;

namespace Sagas.Components.Tests.Webhooks;

public sealed class When_a_standard_webhook_is_signed_and_verified
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"type":"response.completed","data":{"id":"resp_1"}}""");
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private static readonly string Timestamp = Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Should_accept_what_it_signed()
    {
        var signature = StandardWebhooks.Sign(Key, "msg_1", Timestamp, Body);

        Assert.Equal(WebhookSignatureCheck.Valid, StandardWebhooks.Verify(Key, "msg_1", Timestamp, signature, Body, Now.AddMinutes(4)));
    }

    [Fact]
    public void Should_refuse_another_key_a_changed_body_a_changed_id_or_a_stale_timestamp()
    {
        var signature = StandardWebhooks.Sign(Key, "msg_1", Timestamp, Body);
        var otherKey = Key.Reverse().ToArray();
        var changedBody = Encoding.UTF8.GetBytes("""{"type":"response.completed","data":{"id":"resp_2"}}""");

        Assert.Equal(WebhookSignatureCheck.NoMatchingSignature, StandardWebhooks.Verify(otherKey, "msg_1", Timestamp, signature, Body, Now));
        Assert.Equal(WebhookSignatureCheck.NoMatchingSignature, StandardWebhooks.Verify(Key, "msg_1", Timestamp, signature, changedBody, Now));
        Assert.Equal(WebhookSignatureCheck.NoMatchingSignature, StandardWebhooks.Verify(Key, "msg_2", Timestamp, signature, Body, Now));
        Assert.Equal(WebhookSignatureCheck.TimestampOutsideTolerance, StandardWebhooks.Verify(Key, "msg_1", Timestamp, signature, Body, Now.AddMinutes(6)));
        Assert.Equal(WebhookSignatureCheck.InvalidTimestamp, StandardWebhooks.Verify(Key, "msg_1", "soon", signature, Body, Now));
        Assert.Equal(WebhookSignatureCheck.MissingHeaders, StandardWebhooks.Verify(Key, "msg_1", Timestamp, " ", Body, Now));
    }

    [Fact]
    public void Should_accept_any_listed_signature_while_a_secret_rotates()
    {
        var oldKeySignature = StandardWebhooks.Sign(Key.Reverse().ToArray(), "msg_1", Timestamp, Body);
        var newKeySignature = StandardWebhooks.Sign(Key, "msg_1", Timestamp, Body);

        Assert.Equal(WebhookSignatureCheck.Valid, StandardWebhooks.Verify(Key, "msg_1", Timestamp, $"{oldKeySignature} {newKeySignature}", Body, Now));
        Assert.Equal(WebhookSignatureCheck.NoMatchingSignature, StandardWebhooks.Verify(Key, "msg_1", Timestamp, "v2,abc " + oldKeySignature, Body, Now));
    }

    [Theory]
    [InlineData(null, "is missing")]
    [InlineData("c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "whsec_<base64>")]
    [InlineData("whsec_not*base64", "not valid base64")]
    [InlineData("whsec_c2hvcnQ=", "decodes to 5 bytes")]
    public void Should_explain_an_unusable_secret_without_repeating_it(string? secret, string reason)
    {
        var problem = StandardWebhooks.TryDecodeSecret(secret, 16, out _);

        Assert.NotNull(problem);
        Assert.Contains(reason, problem, StringComparison.Ordinal);
        if (secret is not null)
            Assert.DoesNotContain(secret, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_decode_a_whsec_secret_to_its_key()
    {
        Assert.Null(StandardWebhooks.TryDecodeSecret("whsec_" + Convert.ToBase64String(Key), 16, out var key));
        Assert.Equal(Key, key);
    }
}
