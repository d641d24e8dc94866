using System.Net;
using Microsoft.Extensions.Options;
using Reelay.Images;

namespace Reelay.Tests.Images;

public sealed class NetworkPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("10.0.0.1")]
    [InlineData("10.255.255.255")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.254")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("100.127.255.255")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fc00::1")]
    [InlineData("fd12:3456::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("::ffff:10.1.2.3")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    public void Allows_PrivateOrSpecialAddress_Refused(string address)
    {
        Assert.False(new NetworkPolicy((string?)null).Allows(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("1.1.1.1")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2001:4860::")]
    [InlineData("2001:4860:4860::8888")]
    [InlineData("::ffff:8.8.8.8")]
    public void Allows_PublicAddress_Allowed(string address)
    {
        Assert.True(new NetworkPolicy((string?)null).Allows(IPAddress.Parse(address)));
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
}
