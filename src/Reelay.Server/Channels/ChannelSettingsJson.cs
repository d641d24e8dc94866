namespace Reelay.Channels;

/// <summary>
/// The <c>settings_json</c> column: a channel's provider settings that are not secrets. One format for
/// every store backend, so a channel reads the same whichever one wrote it.
/// </summary>
internal static class ChannelSettingsJson
{
    public static string? Write(ChannelOptions channel) =>
        channel.Project is null && channel.Location is null && channel.Bucket is null && channel.RetiredModels.Count == 0
            ? null
            : System.Text.Json.JsonSerializer.Serialize(
                new StoredChannelSettings(channel.Project, channel.Location, channel.Bucket, channel.RetiredModels.Count == 0 ? null : channel.RetiredModels),
                ChannelSettingsJsonContext.Default.StoredChannelSettings);

    public static ChannelOptions Read(string? json, ChannelOptions channel)
    {
        if (json is not null && System.Text.Json.JsonSerializer.Deserialize(json, ChannelSettingsJsonContext.Default.StoredChannelSettings) is { } stored)
        {
            (channel.Project, channel.Location, channel.Bucket) = (stored.Project, stored.Location, stored.Bucket);
            channel.RetiredModels = new(stored.RetiredModels ?? [], StringComparer.OrdinalIgnoreCase);
        }

        return channel;
    }
}

/// <summary>What <c>settings_json</c> holds: provider settings, and the channel's retired models (added later, so optional).</summary>
internal sealed record StoredChannelSettings(string? Project, string? Location, string? Bucket, Dictionary<string, Reelay.Catalog.RetirementOptions>? RetiredModels = null);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(
    PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(StoredChannelSettings))]
internal sealed partial class ChannelSettingsJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
