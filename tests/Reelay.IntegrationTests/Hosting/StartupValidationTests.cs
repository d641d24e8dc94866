using Microsoft.Extensions.Options;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Hosting;

/// <summary>A setting that cannot work stops startup with a message naming the setting and the value.</summary>
public class StartupValidationTests
{
    public static TheoryData<string, string, string> BadSettings => new()
    {
        { "Catalog:Models:reelay-preview:AspectRatios:0", "7-by-5", "aspect ratio '7-by-5' is not of the form W:H" },
        { "Catalog:Models:reelay-preview:DefaultDuration", "999", "DefaultDuration 999 is not among its durations" },
        { "Catalog:Models:sora-2:PixelSizes:0", "1792x1024", "Catalog model 'sora-2': pixel size '1792x1024' is a 1080P size, which is not among its Sizes." },
        { "Catalog:Models:sora-2-pro:PixelSizes:2", "1024x1024", "Catalog model 'sora-2-pro': pixel size '1024x1024' is near none of its AspectRatios." },
        { "Catalog:Models:sora-2-pro:Sizes:2", "1920x1080", "size '1920x1080' is not one of 480P, 720P, 1080P, 4K (list pixel sizes under PixelSizes)" },
        { "Channels:0:Provider", "altavista", "Channels:0 ('altavista-0'): Provider 'altavista' is not one of" },
        { "ALLOW_PRIVATE_NETWORKS", "everything", "ALLOW_PRIVATE_NETWORKS: 'everything' is neither a CIDR" },
        { "Engine:PollConcurrency", "0", "Engine:PollConcurrency" },
        { "Limits:MaxPromptChars", "-1", "Limits:MaxPromptChars" },
        { "PUBLIC_URL", "videos.example.com", "PUBLIC_URL" },
        { "SECRETS_KEY", "too-short-to-be-a-key", "SECRETS_KEY must be at least 32 characters" },
        { "SIGNING_KEY_PREVIOUS", "old-signing-key", "SIGNING_KEY_PREVIOUS" },
        { "Billing:Prices:no-such-model:PerVideo", "1", "Billing:Prices:no-such-model" },
        { "Billing:Prices:grok-video-3:PerSecond", "0.0000001", "PerSecond must be zero or more credits with at most six decimals, got 0.0000001" },
        { "Billing:ChannelCosts:relay", "-1", "Billing:ChannelCosts:relay" },
        { "Storage:Provider", "mysql", "Storage:Provider must be 'sqlite' (the default) or 'postgres', not 'mysql'." },
        { "Storage:Provider", "postgres", "Storage:Postgres:ConnectionString is required when Storage:Provider is 'postgres'" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void Start_BadSetting_FailsNamingIt(string key, string value, string expected)
    {
        var error = Assert.ThrowsAny<Exception>(() => ReelayApp.Start(new Dictionary<string, string?> { [key] = value }));
        // WebApplicationFactory's deferred host can lose the race with a host that failed to start and has
        // disposed itself, and report that instead of the host's own error: start it again to read the error.
        for (var attempt = 1; attempt < 5 && error is ObjectDisposedException; attempt++)
        {
            error = Assert.ThrowsAny<Exception>(() => ReelayApp.Start(new Dictionary<string, string?> { [key] = value }));
        }

        var validation = error as OptionsValidationException ?? error.InnerException as OptionsValidationException
            ?? (error as AggregateException)?.InnerExceptions.OfType<OptionsValidationException>().FirstOrDefault();
        Assert.True(validation is not null, $"Expected an OptionsValidationException, got: {error}");
        Assert.Contains(expected, validation.Message, StringComparison.Ordinal);
    }
}
