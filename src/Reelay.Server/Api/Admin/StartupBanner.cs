using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Reelay.Hosting;
using Reelay.Keys;

namespace Reelay.Api.Admin;

/// <summary>Tells a new operator where Reelay listens, where the admin key is, and a first command to try.</summary>
public sealed partial class StartupBanner(
    IServer server,
    IHostApplicationLifetime lifetime,
    IOptions<KeyOptions> options,
    DataDirectory data,
    ILogger<StartupBanner> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:8080";
            var keySource = options.Value.AdminKeyGenerated
                ? Path.Combine(data.Root, KeyOptions.AdminKeyFileName)
                : "REELAY_ADMIN_KEY";
            var keyExpression = keySource == "REELAY_ADMIN_KEY" ? "$REELAY_ADMIN_KEY" : $"$(cat {keySource})";
            var curl = $"curl -s -X POST {address}/admin/keys -H \"Authorization: Bearer {keyExpression}\" -H 'Content-Type: application/json' -d '{{\"name\":\"dev\",\"mode\":\"test\"}}'";
            LogReady(logger, address, data.Root, keySource, curl);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Reelay is listening on {Address} (data in {DataDir}).\n      Admin key: {KeySource}\n      Make a test-mode client key: {Curl}")]
    private static partial void LogReady(ILogger logger, string address, string dataDir, string keySource, string curl);
}
