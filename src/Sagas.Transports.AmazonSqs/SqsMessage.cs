using System.Globalization;
using System.Text;
using System.Text.Json;
using MassTransit;
using MassTransit.Context;
using MassTransit.Serialization;

namespace Sagas.Transports.AmazonSqs;

/// <summary>
/// What goes on the wire for one message, and how it is read back. MassTransit's headers travel inside the JSON
/// envelope in the body, so the transport adds only a fixed handful of message attributes (SQS and SNS accept ten):
/// the content type, the message id, and, for a body copied rather than serialized (moves to <c>_error</c>,
/// redelivery from the dashboard), the headers that body does not carry, as one bounded JSON attribute.
/// </summary>
public sealed record SqsMessage(string Body, IReadOnlyDictionary<string, string> Attributes, int DelaySeconds)
{
    /// <summary>Amazon SNS's publish limit, and the limit the transport keeps on every send: body plus attributes.</summary>
    public const int MaxBytes = 256 * 1024;

    /// <summary>Amazon SQS's longest per-message delay; anything longer goes through the scheduler.</summary>
    public const int MaxDelaySeconds = 900;

    public const int MaxAttributes = 10;

    public const string ContentTypeAttribute = "Content-Type";
    public const string MessageIdAttribute = "MessageId";
    public const string HeadersAttribute = "Sagas-Transport-Headers";
    public const string EncodingAttribute = "Content-Transfer-Encoding";

    /// <summary>Bounds the copied-header attribute; stack traces and the like are cut to fit.</summary>
    public const int MaxHeadersBytes = 16 * 1024;

    private const int MaxHeaderValueLength = 2_048;

    /// <summary>The SQS message for a send or publish from MassTransit's send context.</summary>
    public static SqsMessage From<T>(MessageSendContext<T> context, bool publish)
        where T : class
    {
        var delay = DelaySecondsFor(context.Delay);
        if (publish && delay > 0)
            throw new NotSupportedException("Amazon SNS cannot delay a publish; schedule the message through the scheduler instead.");

        // A serialized envelope already holds every header; a copied body (or a non-envelope format) holds none of them.
        var bodyCarriesHeaders = context.Serializer is not CopyBodySerializer
            && context.ContentType?.MediaType.StartsWith("application/vnd.masstransit", StringComparison.OrdinalIgnoreCase) == true;
        return Create(
            context.Body.GetBytes(),
            context.ContentType?.ToString(),
            context.MessageId,
            bodyCarriesHeaders ? [] : context.Headers.GetAll(),
            delay,
            $"{TypeCache<T>.ShortName} {context.MessageId}");
    }

    /// <summary>
    /// Builds the message, dropping the copied headers if they would push it over the limit (the body is never cut);
    /// throws <see cref="SqsMessageTooLargeException"/> when even the body alone is too large.
    /// </summary>
    public static SqsMessage Create(byte[] body, string? contentType, Guid? messageId, IEnumerable<KeyValuePair<string, object>> headers, int delaySeconds, string description)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(contentType))
            attributes[ContentTypeAttribute] = contentType;
        if (messageId is { } id)
            attributes[MessageIdAttribute] = id.ToString("D");

        string text;
        if (IsSqsText(body, out var decoded))
        {
            text = decoded;
        }
        else
        {
            // SQS bodies are XML-safe Unicode text; anything else crosses as base64 and is decoded on receipt.
            text = Convert.ToBase64String(body);
            attributes[EncodingAttribute] = "base64";
        }

        var withoutHeaders = Size(text, attributes);
        if (withoutHeaders > MaxBytes)
        {
            throw new SqsMessageTooLargeException(
                $"The message {description} is {withoutHeaders.ToString("N0", CultureInfo.InvariantCulture)} bytes with its attributes; Amazon SQS and SNS " +
                $"accept at most {MaxBytes.ToString("N0", CultureInfo.InvariantCulture)} (256 KiB), so nothing was sent. Keep large payloads in " +
                "blob storage and send a reference.");
        }

        if (HeadersJson(headers) is { } json && withoutHeaders + HeadersAttribute.Length + "String".Length + Encoding.UTF8.GetByteCount(json) <= MaxBytes)
            attributes[HeadersAttribute] = json;

        return new SqsMessage(text, attributes, delaySeconds);
    }

    /// <summary>Whole seconds, rounded up so a message is never early; over 15 minutes is refused.</summary>
    public static int DelaySecondsFor(TimeSpan? delay)
    {
        if (delay is not { } value || value <= TimeSpan.Zero)
            return 0;
        var seconds = (int)Math.Ceiling(value.TotalSeconds - 1e-9);
        if (seconds > MaxDelaySeconds)
        {
            throw new NotSupportedException(
                $"A transport delay of {value} is longer than Amazon SQS's 15 minutes; schedule the message through the scheduler " +
                "(ScheduleSend / the message scheduler) instead.");
        }

        return seconds;
    }

    /// <summary>Bytes SQS counts against its limit: the body and each attribute's name, type and value.</summary>
    public static int Size(string body, IReadOnlyDictionary<string, string> attributes) =>
        Encoding.UTF8.GetByteCount(body)
        + attributes.Sum(a => Encoding.UTF8.GetByteCount(a.Key) + "String".Length + Encoding.UTF8.GetByteCount(a.Value));

    /// <summary>The body bytes of a received message.</summary>
    public static byte[] BodyOf(string body, IReadOnlyDictionary<string, string> attributes) =>
        attributes.TryGetValue(EncodingAttribute, out var encoding) && encoding == "base64"
            ? Convert.FromBase64String(body)
            : Encoding.UTF8.GetBytes(body);

    /// <summary>The transport headers of a received message: its attributes, with the copied headers unpacked.</summary>
    public static Dictionary<string, object> HeadersOf(IReadOnlyDictionary<string, string> attributes)
    {
        var headers = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
        if (attributes.TryGetValue(HeadersAttribute, out var json))
        {
            try
            {
                foreach (var (name, value) in JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [])
                    headers[name] = value;
            }
            catch (JsonException)
            {
                // Written by someone else: the envelope still carries what MassTransit needs.
            }
        }

        foreach (var (name, value) in attributes)
        {
            if (name != HeadersAttribute && name != EncodingAttribute)
                headers[name] = value;
        }

        return headers;
    }

    private static string? HeadersJson(IEnumerable<KeyValuePair<string, object>> headers)
    {
        var kept = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            if (Text(value) is { } text)
                kept[name] = text.Length <= MaxHeaderValueLength ? text : text[..(MaxHeaderValueLength - 1)] + "…";
        }

        while (kept.Count > 0)
        {
            var json = JsonSerializer.Serialize(kept);
            if (Encoding.UTF8.GetByteCount(json) <= MaxHeadersBytes)
                return json;
            kept.Remove(kept.MaxBy(k => k.Value.Length).Key);
        }

        return null;
    }

    private static string? Text(object? value) => value switch
    {
        null => null,
        string text => text,
        Uri uri => uri.ToString(),
        DateTime time => time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
        DateTimeOffset time => time.ToString("O", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => null,
    };

    private static bool IsSqsText(byte[] body, out string text)
    {
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            text = "";
            return false;
        }

        // The characters SQS accepts: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
        foreach (var rune in text.EnumerateRunes())
        {
            var c = rune.Value;
            if (!(c is 0x9 or 0xA or 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) || c >= 0x10000))
                return false;
        }

        return true;
    }
}
