using System.Net;
using System.Net.Sockets;

namespace Sagas.ScanSessions.Fetching;

/// <summary>
/// Decides whether an address a scan URL resolved to may be contacted: only addresses routed on the public internet.
/// IPv6 forms that carry an IPv4 address (IPv4-mapped and -compatible, NAT64 <c>64:ff9b::/96</c>, 6to4
/// <c>2002::/16</c>, Teredo <c>2001::/32</c>) are judged by the IPv4 address they lead to, since a translator or
/// tunnel on the path delivers them there.
/// </summary>
public static class PrivateNetworkGuard
{
    // IANA special-purpose IPv4 ranges that are not globally reachable (RFC 6890 and successors).
    private static readonly IPNetwork[] NonPublicV4 =
    [
        IPNetwork.Parse("0.0.0.0/8"),
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("100.64.0.0/10"), // carrier-grade NAT
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"), // link-local, cloud metadata services
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.0.0.0/24"),
        IPNetwork.Parse("192.0.2.0/24"), // documentation
        IPNetwork.Parse("192.88.99.0/24"), // 6to4 relay anycast
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("198.18.0.0/15"), // benchmarking
        IPNetwork.Parse("198.51.100.0/24"), // documentation
        IPNetwork.Parse("203.0.113.0/24"), // documentation
        IPNetwork.Parse("224.0.0.0/4"), // multicast
        IPNetwork.Parse("240.0.0.0/4"), // reserved, broadcast
    ];

    private static readonly IPNetwork[] NonPublicV6 =
    [
        IPNetwork.Parse("::/128"),
        IPNetwork.Parse("::1/128"),
        IPNetwork.Parse("64:ff9b:1::/48"), // local-use NAT64: translates into the operator's own networks
        IPNetwork.Parse("100::/64"), // discard
        IPNetwork.Parse("2001:db8::/32"), // documentation
        IPNetwork.Parse("fc00::/7"), // unique local
        IPNetwork.Parse("fe80::/10"), // link-local
        IPNetwork.Parse("fec0::/10"), // site-local
        IPNetwork.Parse("ff00::/8"), // multicast
    ];

    private static readonly IPNetwork V4Compatible = IPNetwork.Parse("::/96");
    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");
    private static readonly IPNetwork Teredo = IPNetwork.Parse("2001::/32");

    public static bool IsPublic(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily == AddressFamily.InterNetwork)
            return !NonPublicV4.Any(network => network.Contains(address));
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
            return false;

        // A scope id is a link-local notion; the range checks below compare the bits only.
        if (address.ScopeId != 0)
            address = new IPAddress(address.GetAddressBytes());
        if (address.IsIPv4MappedToIPv6)
            return IsPublic(address.MapToIPv4());
        if (NonPublicV6.Any(network => network.Contains(address)))
            return false;

        var bytes = address.GetAddressBytes();
        if (V4Compatible.Contains(address) || Nat64.Contains(address))
            return IsPublic(new IPAddress(bytes.AsSpan(12, 4)));
        if (SixToFour.Contains(address))
            return IsPublic(new IPAddress(bytes.AsSpan(2, 4)));
        if (Teredo.Contains(address))
        {
            // The Teredo server's address, then the client's, which travels with its bits inverted.
            Span<byte> client = stackalloc byte[4];
            for (var i = 0; i < 4; i++)
                client[i] = (byte)~bytes[12 + i];
            return IsPublic(new IPAddress(bytes.AsSpan(4, 4))) && IsPublic(new IPAddress(client));
        }

        return true;
    }
}

/// <summary>Thrown from the connect callback when every address of a host is internal.</summary>
public sealed class PrivateNetworkAddressException(string host)
    : IOException($"'{host}' resolves only to private or internal network addresses, which scans may not reach.");
