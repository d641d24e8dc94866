using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Reelay.Images;

/// <summary>
/// The SSRF guard for URLs clients give us (reference images, callbacks): which addresses a fetch
/// may connect to. Loopback, private, link-local, carrier-grade NAT, multicast, unspecified, cloud
/// metadata, documentation and reserved addresses are refused unless the operator allows a range with
/// <c>ALLOW_PRIVATE_NETWORKS</c>; IPv6 forms that carry an IPv4 address (mapped, 6to4, NAT64, Teredo)
/// are judged by that IPv4 address. Checked on the resolved address at connect time, so DNS tricks
/// and redirects cannot route around it.
/// </summary>
public sealed class NetworkPolicy
{
    // First match names the reason, so a narrow range stands before the range around it.
    private static readonly (IPNetwork Network, string Kind)[] Blocked =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "an unspecified address"),
        (IPNetwork.Parse("10.0.0.0/8"), "a private address"),
        (IPNetwork.Parse("100.64.0.0/10"), "a carrier-grade NAT address"),
        (IPNetwork.Parse("127.0.0.0/8"), "a loopback address"),
        (IPNetwork.Parse("169.254.169.254/32"), "the cloud metadata address"),
        (IPNetwork.Parse("169.254.0.0/16"), "a link-local address"),
        (IPNetwork.Parse("172.16.0.0/12"), "a private address"),
        (IPNetwork.Parse("192.0.0.0/24"), "an IETF protocol address"),
        (IPNetwork.Parse("192.0.2.0/24"), "a documentation address"),
        (IPNetwork.Parse("192.88.99.0/24"), "a 6to4 relay address"),
        (IPNetwork.Parse("192.168.0.0/16"), "a private address"),
        (IPNetwork.Parse("198.18.0.0/15"), "a benchmarking address"),
        (IPNetwork.Parse("198.51.100.0/24"), "a documentation address"),
        (IPNetwork.Parse("203.0.113.0/24"), "a documentation address"),
        (IPNetwork.Parse("224.0.0.0/4"), "a multicast address"),
        (IPNetwork.Parse("240.0.0.0/4"), "a reserved address"),
        (IPNetwork.Parse("::/128"), "an unspecified address"),
        (IPNetwork.Parse("::1/128"), "a loopback address"),
        // ::a.b.c.d, deprecated by RFC 4291; stacks that still honour it reach the IPv4 address.
        (IPNetwork.Parse("::/96"), "a deprecated IPv4-compatible address"),
        (IPNetwork.Parse("64:ff9b:1::/48"), "a local-use NAT64 address"),
        (IPNetwork.Parse("100::/64"), "a discard-only address"),
        (IPNetwork.Parse("2001:2::/48"), "a benchmarking address"),
        (IPNetwork.Parse("2001:10::/28"), "an ORCHID identifier, not a routable address"),
        (IPNetwork.Parse("2001:20::/28"), "an ORCHID identifier, not a routable address"),
        (IPNetwork.Parse("2001:db8::/32"), "a documentation address"),
        (IPNetwork.Parse("3fff::/20"), "a documentation address"),
        (IPNetwork.Parse("fc00::/7"), "a unique-local (private) address"),
        (IPNetwork.Parse("fe80::/10"), "a link-local address"),
        (IPNetwork.Parse("fec0::/10"), "a deprecated site-local address"),
        (IPNetwork.Parse("ff00::/8"), "a multicast address"),
    ];

    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");
    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork Teredo = IPNetwork.Parse("2001::/32");

    // Every public IPv6 address is in 2000::/3 (IANA allocates nowhere else); the ranges outside it
    // that matter are named above, the rest is unassigned.
    private static readonly IPNetwork GlobalUnicast = IPNetwork.Parse("2000::/3");

    private readonly IPNetwork[] _allowed;

    public NetworkPolicy(IOptions<NetworkOptions> options)
        : this(options.Value.AllowPrivateNetworks)
    {
    }

    /// <param name="allowPrivateNetworks">Validated by <see cref="NetworkOptionsValidator"/> before this runs.</param>
    public NetworkPolicy(string? allowPrivateNetworks) =>
        _allowed = TryParseAllowed(allowPrivateNetworks, out var allowed, out var problem) ? allowed : throw new ArgumentException(problem, nameof(allowPrivateNetworks));

    /// <summary>Whether a connection to this address is allowed.</summary>
    public bool Allows(IPAddress address) => RefusalReason(address) is null;

    /// <summary>
    /// Why a connection to this address is refused, worded to follow the address ("a loopback address",
    /// "a 6to4 address embedding 10.0.0.1, a private address"), or null when it is allowed. The
    /// operator's allowed ranges are matched against the address itself and against any IPv4 address it embeds.
    /// </summary>
    public string? RefusalReason(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var network in _allowed)
        {
            if (network.Contains(address))
            {
                return null;
            }
        }

        foreach (var (network, kind) in Blocked)
        {
            if (network.Contains(address))
            {
                return kind;
            }
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return null;
        }

        // Translation prefixes: a relay or gateway forwards to the embedded IPv4 address, so that
        // address decides. Teredo carries two: the server (bits 32..63) and the client, stored inverted.
        var bytes = address.GetAddressBytes();
        var (form, embedded) = SixToFour.Contains(address) ? ("a 6to4 address", [new IPAddress(bytes.AsSpan(2, 4))])
            : Nat64.Contains(address) ? ("a NAT64 address", [new IPAddress(bytes.AsSpan(12, 4))])
            : Teredo.Contains(address) ? ("a Teredo address", [new IPAddress(bytes.AsSpan(4, 4)), new IPAddress(Inverted(bytes.AsSpan(12, 4)))])
            : ((string, IPAddress[]))("", []);
        foreach (var ipv4 in embedded)
        {
            if (RefusalReason(ipv4) is { } inner)
            {
                return $"{form} embedding {ipv4}, {inner}";
            }
        }

        return embedded.Length > 0 || GlobalUnicast.Contains(address) ? null : "a reserved IPv6 address (outside 2000::/3)";
    }

    /// <summary>
    /// The create-time check of a webhook target (<c>callback_url</c>, already known to be an absolute
    /// http(s) URL): refuses an IP literal this policy refuses, and <c>localhost</c> or <c>*.localhost</c>
    /// unless loopback is allowed. Returns what is wrong, worded to follow the field name, or null. Other
    /// host names are not resolved here: DNS can answer differently at delivery, so the sender connects
    /// through <see cref="CreateHandler"/>, which checks the address it actually dials.
    /// </summary>
    public string? CheckCallbackUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return null;
        }

        string? reason;
        string target;
        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 && IPAddress.TryParse(uri.Host.Trim('[', ']'), out var literal))
        {
            target = literal.ToString();
            reason = RefusalReason(literal);
        }
        else if (IsLocalhost(uri.Host))
        {
            target = uri.Host;
            reason = Allows(IPAddress.Loopback) || Allows(IPAddress.IPv6Loopback) ? null : "a loopback host name";
        }
        else
        {
            return null;
        }

        return reason is null
            ? null
            : $"points at {target}, {reason}; webhooks are delivered only to public addresses: send a public URL "
                + "(an operator can allow private ranges with REELAY_ALLOW_PRIVATE_NETWORKS)";
    }

    /// <summary>
    /// A handler for client-given URLs whose every connection goes through <see cref="ConnectAsync"/>: the
    /// address actually dialled is checked, on every request, redirect hop and reconnect. It uses no proxy
    /// (through one, only the proxy's address would be checked) and follows no redirects (the stock
    /// handler follows ws:// and sends gopher:// or ftp:// Locations as HTTP; a caller that follows
    /// redirects checks each Location's scheme itself, as <see cref="ImageFetcher"/> does). Webhook
    /// delivery uses it the same way: <c>AddHttpClient(name).ConfigurePrimaryHttpMessageHandler(sp =&gt;
    /// sp.GetRequiredService&lt;NetworkPolicy&gt;().CreateHandler())</c>.
    /// </summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        ConnectCallback = ConnectAsync,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        AllowAutoRedirect = false,
        UseProxy = false,
    };

    /// <summary>
    /// Resolves the host and connects to the first allowed address; throws <see cref="BlockedAddressException"/>
    /// when every address is refused. Used as <see cref="SocketsHttpHandler.ConnectCallback"/>.
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var permitted = addresses.Where(Allows).ToArray();
        if (permitted.Length == 0)
        {
            throw new BlockedAddressException(host, addresses.Length == 0 ? null : $"{addresses[0]} is {RefusalReason(addresses[0])}");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(permitted, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static byte[] Inverted(ReadOnlySpan<byte> bytes)
    {
        var inverted = new byte[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            inverted[i] = (byte)~bytes[i];
        }

        return inverted;
    }

    // RFC 6761: every name under .localhost is loopback, whatever DNS says.
    private static bool IsLocalhost(string host)
    {
        var name = host.TrimEnd('.');
        return name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Parses <c>ALLOW_PRIVATE_NETWORKS</c>: CIDRs, single addresses or the word <c>loopback</c>, separated by commas or spaces.</summary>
    public static bool TryParseAllowed(string? value, out IPNetwork[] allowed, out string? problem)
    {
        allowed = [];
        problem = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            return true;
        }

        var networks = new List<IPNetwork>();
        foreach (var part in value.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Equals("loopback", StringComparison.OrdinalIgnoreCase))
            {
                networks.Add(IPNetwork.Parse("127.0.0.0/8"));
                networks.Add(IPNetwork.Parse("::1/128"));
            }
            else if (IPNetwork.TryParse(part, out var network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(part, out var single))
            {
                networks.Add(new IPNetwork(single, single.AddressFamily == AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                problem = $"ALLOW_PRIVATE_NETWORKS: '{part}' is neither a CIDR (10.0.0.0/8), an address, nor 'loopback'.";
                return false;
            }
        }

        allowed = [.. networks];
        return true;
    }
}

/// <summary>A connection refused by the SSRF guard; <paramref name="detail"/> names an address and why it is refused.</summary>
public sealed class BlockedAddressException(string host, string? detail = null)
    : IOException($"'{host}' resolves only to private, loopback, link-local, metadata or other non-public addresses, which Reelay does not connect to"
        + (detail is null ? "" : $" ({detail})"))
{
    public string Host { get; } = host;
}
