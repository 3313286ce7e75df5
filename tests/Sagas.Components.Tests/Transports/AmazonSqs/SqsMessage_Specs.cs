using System.Text;
using MassTransit;
using MassTransit.Context;
using MassTransit.Serialization;
using Sagas.Transports.AmazonSqs;

namespace Sagas.Components.Tests.Transports.AmazonSqs;

public sealed record SqsUnitSpecMessage(string Text);

public sealed class When_a_message_goes_on_the_sqs_wire
{
    [Fact]
    public void Should_never_use_more_than_ten_attributes_however_many_headers_it_carries()
    {
        var serialized = Context(new SqsUnitSpecMessage("hello"));
        var copied = Context(new SqsUnitSpecMessage("hello"));
        copied.Serializer = new CopyBodySerializer(SystemTextJsonMessageSerializer.JsonContentType, new BytesMessageBody(Encoding.UTF8.GetBytes("\u0001 not text")));
        foreach (var context in new[] { serialized, copied })
        {
            for (var i = 0; i < 50; i++)
                context.Headers.Set($"X-Header-{i}", new string('h', 500));

            var message = SqsMessage.From(context, publish: false);

            Assert.InRange(message.Attributes.Count, 1, SqsMessage.MaxAttributes);
        }
    }

    [Fact]
    public void Should_keep_headers_in_the_envelope_and_copy_them_only_for_a_copied_body()
    {
        var serialized = Context(new SqsUnitSpecMessage("hello"));
        serialized.Headers.Set("X-Probe", "in the envelope");
        var copied = Context(new SqsUnitSpecMessage("hello"));
        copied.Serializer = new CopyBodySerializer(SystemTextJsonMessageSerializer.JsonContentType, new BytesMessageBody(Encoding.UTF8.GetBytes("{}")));
        copied.Headers.Set("X-Probe", "beside the body");

        var fromEnvelope = SqsMessage.From(serialized, publish: false);
        var fromCopy = SqsMessage.From(copied, publish: false);

        Assert.Contains("in the envelope", fromEnvelope.Body, StringComparison.Ordinal);
        Assert.False(fromEnvelope.Attributes.ContainsKey(SqsMessage.HeadersAttribute));
        Assert.Equal("beside the body", SqsMessage.HeadersOf(fromCopy.Attributes)["X-Probe"]);
    }

    [Fact]
    public void Should_refuse_a_message_over_256_kib_before_anything_is_sent()
    {
        var context = Context(new SqsUnitSpecMessage(new string('x', SqsMessage.MaxBytes)));

        var refused = Assert.Throws<SqsMessageTooLargeException>(() => SqsMessage.From(context, publish: false));

        Assert.Contains("262,144", refused.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(SqsUnitSpecMessage), refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_accept_a_message_just_under_the_limit_and_drop_copied_headers_rather_than_cut_the_body()
    {
        var body = Encoding.UTF8.GetBytes(new string('y', SqsMessage.MaxBytes - 200));
        var headers = new Dictionary<string, object> { ["MT-Fault-StackTrace"] = new string('s', 4_000) };

        var message = SqsMessage.Create(body, "application/vnd.masstransit+json", Guid.NewGuid(), headers, 0, "spec");

        Assert.Equal(body.Length, message.Body.Length);
        Assert.False(message.Attributes.ContainsKey(SqsMessage.HeadersAttribute));
        Assert.InRange(SqsMessage.Size(message.Body, message.Attributes), 0, SqsMessage.MaxBytes);
    }

    [Fact]
    public void Should_round_trip_a_body_that_is_not_sqs_text_as_base64()
    {
        byte[] body = [0x00, 0xFF, 0x10, 0x41];

        var message = SqsMessage.Create(body, "application/octet-stream", null, [], 0, "spec");

        Assert.Equal(body, SqsMessage.BodyOf(message.Body, message.Attributes));
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.001, 1)]
    [InlineData(1.0, 1)]
    [InlineData(1.2, 2)]
    [InlineData(899.5, 900)]
    [InlineData(900.0, 900)]
    public void Should_round_delays_up_to_whole_seconds(double seconds, int expected) =>
        Assert.Equal(expected, SqsMessage.DelaySecondsFor(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Should_refuse_a_transport_delay_over_fifteen_minutes() =>
        Assert.Contains("scheduler", Assert.Throws<NotSupportedException>(() => SqsMessage.DelaySecondsFor(TimeSpan.FromSeconds(900.5))).Message, StringComparison.Ordinal);

    [Fact]
    public void Should_refuse_to_delay_a_publish()
    {
        var context = Context(new SqsUnitSpecMessage("later"));
        context.Delay = TimeSpan.FromSeconds(5);

        Assert.Throws<NotSupportedException>(() => SqsMessage.From(context, publish: true));
    }

    private static MessageSendContext<T> Context<T>(T message)
        where T : class =>
        new(message, CancellationToken.None)
        {
            Serializer = SystemTextJsonMessageSerializer.Instance,
            ContentType = SystemTextJsonMessageSerializer.JsonContentType,
            MessageId = NewId.NextGuid(),
        };
}
