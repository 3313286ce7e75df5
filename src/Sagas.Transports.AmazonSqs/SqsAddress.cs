namespace Sagas.Transports.AmazonSqs;

public enum SqsEntityKind
{
    Queue,
    Topic,
}

/// <summary>
/// A queue or topic address: <c>amazonsqs://{region or emulator host}/{logical name}</c>, topics with <c>?type=topic</c>.
/// The authority only tells environments apart in logs and traces; it never holds credentials.
/// </summary>
public sealed record SqsAddress(SqsEntityKind Kind, string Name)
{
    public const string Scheme = "amazonsqs";

    public static Uri HostAddress(AmazonSqsTransportOptions options) => new($"{Scheme}://{Authority(options)}/");

    public Uri ToUri(Uri hostAddress) =>
        new(hostAddress, Uri.EscapeDataString(Name) + (Kind == SqsEntityKind.Topic ? "?type=topic" : ""));

    /// <summary>Reads our own addresses and MassTransit's short forms <c>queue:name</c> and <c>topic:name</c>.</summary>
    public static SqsAddress Parse(Uri address)
    {
        switch (address.Scheme)
        {
            case "queue":
                return new SqsAddress(SqsEntityKind.Queue, Checked(address.AbsolutePath, address));
            case "topic":
                return new SqsAddress(SqsEntityKind.Topic, Checked(address.AbsolutePath, address));
            case Scheme:
                var name = Checked(Uri.UnescapeDataString(address.AbsolutePath.Trim('/')), address);
                var kind = address.Query.Contains("type=topic", StringComparison.OrdinalIgnoreCase) ? SqsEntityKind.Topic : SqsEntityKind.Queue;
                return new SqsAddress(kind, name);
            default:
                throw new ArgumentException($"'{address}' is not an Amazon SQS address (amazonsqs://, queue: or topic:).", nameof(address));
        }
    }

    private static string Checked(string name, Uri address) =>
        name.Length > 0 && SqsNames.IsValidNamePart(name)
            ? name
            : throw new ArgumentException($"'{address}' does not name a queue or topic of letters, digits, '-' and '_'.", nameof(address));

    private static string Authority(AmazonSqsTransportOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.ServiceUrl))
        {
            var url = new Uri(options.ServiceUrl);
            return url.IsDefaultPort ? url.Host : $"{url.Host}:{url.Port}";
        }

        return options.Region!;
    }
}
