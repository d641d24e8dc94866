using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.IntegrationTests.Channels;

/// <summary>Starts Reelay with channels pointing at fake upstreams, with fast polling and retries.</summary>
internal static class UpstreamGateway
{
    /// <summary>A channel for the settings dictionary.</summary>
    public sealed record ChannelSpec(string Name, string Provider, FakeUpstreamServer Fake, int Priority = 0, string? Models = null, int PollsPerMinute = 0, string ApiKey = "upstream-secret-key");

    public static ReelayApp Start(IEnumerable<ChannelSpec> channels, IReadOnlyDictionary<string, string?>? extra = null, string? dataDir = null, CapturedLogs? logs = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Engine:RetryDelay"] = "00:00:00.200",
            ["ChannelHealth:FailuresToOpen"] = "3",
            ["ChannelHealth:CoolDown"] = "00:10:00",
        };
        var index = 0;
        foreach (var channel in channels)
        {
            var prefix = $"Channels:{index++}:";
            settings[prefix + "Name"] = channel.Name;
            settings[prefix + "Provider"] = channel.Provider;
            settings[prefix + "BaseUrl"] = channel.Fake.BaseUrl.ToString();
            settings[prefix + "ApiKey"] = channel.ApiKey;
            settings[prefix + "Priority"] = channel.Priority.ToString(System.Globalization.CultureInfo.InvariantCulture);
            settings[prefix + "PollInterval"] = "00:00:00.100";
            settings[prefix + "PollsPerMinute"] = channel.PollsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (channel.Models is not null)
            {
                settings[prefix + "Models:0"] = channel.Models;
            }
        }

        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return ReelayApp.Start(settings, dataDir, logs);
    }

    /// <summary>The admin view of a task: route, attempts, upstream id.</summary>
    public static async Task<JsonElement> AdminTaskAsync(this ReelayApp app, string id, CancellationToken cancellationToken)
    {
        using var admin = app.AdminClient();
        return await admin.GetFromJsonAsync<JsonElement>("/admin/tasks/" + Uri.EscapeDataString(id), cancellationToken);
    }
}
