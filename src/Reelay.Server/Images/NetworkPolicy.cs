using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Reelay.Images;

/// <summary>
/// The SSRF guard for URLs clients give us (reference images, callbacks): which addresses a fetch
/// may connect to. Loopback, private, link-local, carrier-grade NAT, multicast, unspecified and
/// cloud metadata addresses are refused unless the operator allows a range with
/// <c>ALLOW_PRIVATE_NETWORKS</c>. Checked on the resolved address at connect time, so DNS tricks
/// and redirects cannot route around it.
/// </summary>
public sealed class NetworkPolicy
{
    private static readonly IPNetwork[] Blocked =
    [
        IPNetwork.Parse("0.0.0.0/8"),
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("100.64.0.0/10"),
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"),
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.0.0.0/24"),
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("198.18.0.0/15"),
        IPNetwork.Parse("224.0.0.0/3"),
        IPNetwork.Parse("::/128"),
        IPNetwork.Parse("::1/128"),
        IPNetwork.Parse("fc00::/7"),
        IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("ff00::/8"),
        IPNetwork.Parse("64:ff9b::/96"),
    ];

    private readonly IPNetwork[] _allowed;

    public NetworkPolicy(IOptions<NetworkOptions> options)
        : this(options.Value.AllowPrivateNetworks)
    {
    }

    /// <param name="allowPrivateNetworks">Validated by <see cref="NetworkOptionsValidator"/> before this runs.</param>
    public NetworkPolicy(string? allowPrivateNetworks) =>
        _allowed = TryParseAllowed(allowPrivateNetworks, out var allowed, out var problem) ? allowed : throw new ArgumentException(problem, nameof(allowPrivateNetworks));

    /// <summary>Whether a connection to this address is allowed.</summary>
    public bool Allows(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var network in _allowed)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        foreach (var network in Blocked)
        {
            if (network.Contains(address))
            {
                return false;
            }
        }

        return true;
    }

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
            throw new BlockedAddressException(host);
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

/// <summary>A fetch refused by the SSRF guard.</summary>
public sealed class BlockedAddressException(string host)
    : IOException($"'{host}' resolves only to private, loopback, link-local or metadata addresses, which Reelay does not fetch from.")
{
    public string Host { get; } = host;
}
