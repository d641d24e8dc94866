using System.Net;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Reelay.Images;
using Reelay.Testing;

namespace Reelay.Tests.Images;

public sealed class NetworkPolicyTests
{
    /// <summary>Every address and the verdict without an allow list: null = allowed, else a fragment of the reason.</summary>
    public static TheoryData<string, string?> Verdicts => new()
    {
        // IPv4
        { "127.0.0.1", "a loopback address" },
        { "127.8.9.10", "a loopback address" },
        { "10.0.0.1", "a private address" },
        { "10.255.255.255", "a private address" },
        { "172.16.0.1", "a private address" },
        { "172.31.255.254", "a private address" },
        { "192.168.1.1", "a private address" },
        { "169.254.169.254", "the cloud metadata address" },
        { "169.254.1.1", "a link-local address" },
        { "100.64.0.1", "a carrier-grade NAT address" },
        { "100.127.255.255", "a carrier-grade NAT address" },
        { "0.0.0.0", "an unspecified address" },
        { "192.0.0.8", "an IETF protocol address" },
        { "192.0.2.1", "a documentation address" },
        { "198.51.100.1", "a documentation address" },
        { "203.0.113.1", "a documentation address" },
        { "198.18.0.1", "a benchmarking address" },
        { "224.0.0.1", "a multicast address" },
        { "255.255.255.255", "a reserved address" },
        { "8.8.8.8", null },
        { "1.1.1.1", null },
        { "172.32.0.1", null },
        { "100.128.0.1", null },
        { "192.0.3.1", null },

        // IPv6 ranges of their own
        { "::1", "a loopback address" },
        { "::", "an unspecified address" },
        { "fe80::1", "a link-local address" },
        { "fe80::1%2", "a link-local address" },
        { "fc00::1", "a unique-local (private) address" },
        { "fd12:3456::1", "a unique-local (private) address" },
        { "fd00:ec2::254", "a unique-local (private) address" },
        { "fec0::1", "a deprecated site-local address" },
        { "ff02::1", "a multicast address" },
        { "2001:db8::1", "a documentation address" },
        { "3fff::1", "a documentation address" },
        { "100::1", "a discard-only address" },
        { "2001:2::1", "a benchmarking address" },
        { "2001:10::1", "an ORCHID identifier" },
        { "64:ff9b:1::a00:1", "a local-use NAT64 address" },
        { "::ffff:0:808:808", "a reserved IPv6 address" },
        { "4000::1", "a reserved IPv6 address" },
        { "2001:4860::", null },
        { "2001:4860:4860::8888", null },
        { "2606:4700:4700::1111", null },

        // IPv4 inside IPv6
        { "::127.0.0.1", "a deprecated IPv4-compatible address" },
        { "::8.8.8.8", "a deprecated IPv4-compatible address" },
        { "::ffff:127.0.0.1", "a loopback address" },
        { "::ffff:169.254.169.254", "the cloud metadata address" },
        { "::ffff:10.1.2.3", "a private address" },
        { "::ffff:8.8.8.8", null },
        { "2002:7f00:1::", "a 6to4 address embedding 127.0.0.1, a loopback address" },
        { "2002:a9fe:a9fe::1", "a 6to4 address embedding 169.254.169.254, the cloud metadata address" },
        { "2002:c0a8:0101:5::1", "a 6to4 address embedding 192.168.1.1, a private address" },
        { "2002:0808:0808::", null },
        { "2002:0808:0808:1::1", null },
        { "64:ff9b::a9fe:a9fe", "a NAT64 address embedding 169.254.169.254" },
        { "64:ff9b::7f00:1", "a NAT64 address embedding 127.0.0.1, a loopback address" },
        { "64:ff9b::808:808", null },
        // Teredo: server 65.54.227.120 (public) with client 127.0.0.1 stored inverted (80ff:fffe),
        // then a loopback server, then both public (client 8.8.8.8 = f7f7:f7f7).
        { "2001:0:4136:e378:8000:63bf:80ff:fffe", "a Teredo address embedding 127.0.0.1, a loopback address" },
        { "2001:0:7f00:1:8000:63bf:f7f7:f7f7", "a Teredo address embedding 127.0.0.1, a loopback address" },
        { "2001:0:4136:e378:8000:63bf:f5ff:fffe", "a Teredo address embedding 10.0.0.1, a private address" },
        { "2001:0:4136:e378:8000:63bf:f7f7:f7f7", null },
    };

    [Theory]
    [MemberData(nameof(Verdicts))]
    public void RefusalReason_NoAllowList_MatchesTable(string address, string? reason)
    {
        var policy = new NetworkPolicy((string?)null);

        var verdict = policy.RefusalReason(IPAddress.Parse(address));

        if (reason is null)
        {
            Assert.Null(verdict);
            Assert.True(policy.Allows(IPAddress.Parse(address)));
        }
        else
        {
            Assert.NotNull(verdict);
            Assert.Contains(reason, verdict, StringComparison.Ordinal);
            Assert.False(policy.Allows(IPAddress.Parse(address)));
        }
    }

    [Theory]
    [InlineData("2002:a01:5::", true)]
    [InlineData("64:ff9b::a01:5", true)]
    [InlineData("2002:a02:5::", false)]
    [InlineData("::a01:5", false)]
    public void Allows_AllowedIpv4Range_OpensItsTranslatedFormsButNotTheDeprecatedOne(string address, bool allowed)
    {
        Assert.Equal(allowed, new NetworkPolicy("10.1.0.0/16").Allows(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.0.0.2", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("10.0.0.1", false)]
    [InlineData("169.254.169.254", false)]
    public void Allows_LoopbackAllowed_OnlyLoopbackOpens(string address, bool allowed)
    {
        Assert.Equal(allowed, new NetworkPolicy("loopback").Allows(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("10.1.0.1", true)]
    [InlineData("10.1.255.255", true)]
    [InlineData("10.2.0.1", false)]
    [InlineData("192.168.7.7", true)]
    [InlineData("192.168.7.8", false)]
    [InlineData("fd00::5", true)]
    [InlineData("fd01::5", false)]
    public void Allows_CidrsAllowed_OpensOnlyThoseRanges(string address, bool allowed)
    {
        var policy = new NetworkPolicy("10.1.0.0/16, 192.168.7.7;fd00::/16");

        Assert.Equal(allowed, policy.Allows(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("everything")]
    [InlineData("10.0.0.0/33")]
    [InlineData("loopback,nope")]
    public void Validator_GarbageAllowList_FailsNamingTheValue(string value)
    {
        var result = new NetworkOptionsValidator().Validate(null, new NetworkOptions { AllowPrivateNetworks = value });

        Assert.True(result.Failed);
        Assert.Contains("ALLOW_PRIVATE_NETWORKS", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1/hook", "points at 127.0.0.1, a loopback address; webhooks are delivered only to public addresses")]
    [InlineData("http://2130706433/hook", "points at 127.0.0.1, a loopback address")]
    [InlineData("http://0x7f.1/hook", "points at 127.0.0.1, a loopback address")]
    [InlineData("https://169.254.169.254/latest/meta-data/", "points at 169.254.169.254, the cloud metadata address")]
    [InlineData("http://[::1]:8080/hook", "points at ::1, a loopback address")]
    [InlineData("http://[::ffff:10.0.0.1]/hook", "points at ::ffff:10.0.0.1, a private address")]
    [InlineData("http://[2002:7f00:1::]/hook", "points at 2002:7f00:1::, a 6to4 address embedding 127.0.0.1")]
    [InlineData("http://localhost:9000/hook", "points at localhost, a loopback host name")]
    [InlineData("http://LOCALHOST./hook", "points at localhost., a loopback host name")]
    [InlineData("http://hooks.app.localhost/x", "points at hooks.app.localhost, a loopback host name")]
    [InlineData("https://hooks.example.com/x", null)]
    [InlineData("https://localhost.example.com/x", null)]
    [InlineData("https://8.8.8.8/x", null)]
    [InlineData("https://[2001:4860:4860::8888]/x", null)]
    public void CheckCallbackUrl_NoAllowList_RefusesPrivateLiteralsAndLocalhost(string url, string? problem)
    {
        var verdict = new NetworkPolicy((string?)null).CheckCallbackUrl(url);

        if (problem is null)
        {
            Assert.Null(verdict);
        }
        else
        {
            Assert.NotNull(verdict);
            Assert.StartsWith(problem, verdict, StringComparison.Ordinal);
            Assert.Contains("REELAY_ALLOW_PRIVATE_NETWORKS", verdict, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1/hook", true)]
    [InlineData("http://localhost/hook", true)]
    [InlineData("http://[::1]/hook", true)]
    [InlineData("http://10.0.0.1/hook", false)]
    public void CheckCallbackUrl_LoopbackAllowed_AcceptsOnlyLoopback(string url, bool accepted)
    {
        Assert.Equal(accepted, new NetworkPolicy("loopback").CheckCallbackUrl(url) is null);
    }

    [Fact]
    public async Task CreateHandler_LoopbackTargetWithoutPermission_RefusesBeforeConnecting()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var target = await StaticServer.StartAsync(a => a.MapGet("/hook", () => "ok"), cancellationToken: ct);
        using var client = new HttpClient(new NetworkPolicy((string?)null).CreateHandler());

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(target.Url("/hook"), ct));

        var blocked = Assert.IsType<BlockedAddressException>(error.InnerException);
        Assert.Contains("127.0.0.1 is a loopback address", blocked.Message, StringComparison.Ordinal);
        Assert.Empty(target.Requests);
    }

    [Fact]
    public async Task CreateHandler_AllowedTargetThatRedirects_ReturnsTheRedirectUnfollowed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var target = await StaticServer.StartAsync(a =>
        {
            a.MapGet("/hook", () => Results.Redirect("/elsewhere"));
            a.MapGet("/elsewhere", () => "ok");
        }, cancellationToken: ct);
        using var client = new HttpClient(new NetworkPolicy("loopback").CreateHandler());

        using var response = await client.GetAsync(target.Url("/hook"), ct);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(["/hook"], target.Requests);
    }
}
