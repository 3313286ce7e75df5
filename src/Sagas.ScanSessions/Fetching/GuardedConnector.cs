using System.Net;
using System.Net.Sockets;

namespace Sagas.ScanSessions.Fetching;

/// <summary>
/// The scan URL client's connect step (a <see cref="SocketsHttpHandler.ConnectCallback"/>, so it runs for the first
/// request and for every redirect hop): resolves the host itself, connects only to addresses the guard allows, and
/// checks the address the socket actually reached before a byte is sent. Resolving here rather than trusting the
/// name defeats DNS names (and rebinding) that point inward.
/// </summary>
internal sealed class GuardedConnector(Func<string, CancellationToken, Task<IPAddress[]>> resolve, Func<IPAddress, bool> isAllowed)
{
    public static GuardedConnector Public { get; } = new(Dns.GetHostAddressesAsync, PrivateNetworkGuard.IsPublic);

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await resolve(host, cancellationToken);
        var allowed = addresses.Where(isAllowed).ToArray();
        if (allowed.Length == 0)
            throw new PrivateNetworkAddressException(host);

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
            // A dual-mode socket reports an IPv4 peer in its IPv6-mapped form.
            if (socket.RemoteEndPoint is not IPEndPoint { Address: var remote }
                || !isAllowed(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote))
                throw new PrivateNetworkAddressException(host);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
