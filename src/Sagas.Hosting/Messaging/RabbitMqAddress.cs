namespace Sagas.Hosting.Messaging;

/// <summary>
/// The broker address and credentials after folding a URI and the separate settings together; the settings are
/// validated ones (<see cref="RabbitMqTransportOptions.Validate"/>).
/// </summary>
public sealed record RabbitMqAddress(Uri HostAddress, string Username, string Password, bool UseTls, string ServerName)
{
    public static RabbitMqAddress From(RabbitMqTransportOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.Uri))
        {
            var uri = new Uri(options.Uri, UriKind.Absolute);
            var tls = uri.Scheme is "amqps" or "rabbitmqs" || options.UseTls;
            var port = uri.IsDefaultPort || uri.Port <= 0 ? (tls ? 5671 : 5672) : uri.Port;
            var virtualHost = System.Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
            var (user, password) = SplitUserInfo(uri.UserInfo, options);
            return new RabbitMqAddress(
                Build(uri.Host, port, virtualHost.Length == 0 ? "/" : virtualHost, tls),
                user,
                password,
                tls,
                options.TlsServerName ?? uri.Host);
        }

        return new RabbitMqAddress(
            Build(options.Host, options.Port, string.IsNullOrEmpty(options.VirtualHost) ? "/" : options.VirtualHost, options.UseTls),
            options.Username,
            options.Password,
            options.UseTls,
            options.TlsServerName ?? options.Host);
    }

    private static (string User, string Password) SplitUserInfo(string userInfo, RabbitMqTransportOptions options)
    {
        if (string.IsNullOrEmpty(userInfo))
            return (options.Username, options.Password);

        var separator = userInfo.IndexOf(':', StringComparison.Ordinal);
        return separator < 0
            ? (System.Uri.UnescapeDataString(userInfo), options.Password)
            : (System.Uri.UnescapeDataString(userInfo[..separator]), System.Uri.UnescapeDataString(userInfo[(separator + 1)..]));
    }

    // MassTransit reads the virtual host from the path; TLS is switched on explicitly and credentials travel separately
    // so that they never end up in a logged address.
    private static Uri Build(string host, int port, string virtualHost, bool tls)
    {
        var path = virtualHost == "/" ? "/" : "/" + System.Uri.EscapeDataString(virtualHost);
        return new UriBuilder("rabbitmq", host, port, path).Uri;
    }
}
