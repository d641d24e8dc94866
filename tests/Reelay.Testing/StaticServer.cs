using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Reelay.Testing;

/// <summary>A tiny web server on a loopback address for things clients point Reelay at: reference images, redirects, callbacks.</summary>
public sealed class StaticServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StaticServer(WebApplication app, Uri baseUrl, System.Collections.Concurrent.ConcurrentQueue<string> requests)
    {
        _app = app;
        BaseUrl = baseUrl;
        Requests = requests;
    }

    public Uri BaseUrl { get; }

    /// <summary>Requests received, by path.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Requests { get; }

    /// <summary>Starts on <paramref name="address"/> (default 127.0.0.1) with the given routes.</summary>
    public static async Task<StaticServer> StartAsync(Action<WebApplication> routes, string address = "127.0.0.1", CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Parse(address), 0));
        var app = builder.Build();
        var requests = new System.Collections.Concurrent.ConcurrentQueue<string>();
        app.Use((context, next) =>
        {
            requests.Enqueue(context.Request.Path.Value ?? "");
            return next(context);
        });
        routes(app);
        await app.StartAsync(cancellationToken);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new StaticServer(app, new Uri(bound.TrimEnd('/') + "/"), requests);
    }

    /// <summary>A server answering each path with fixed bytes and content type.</summary>
    public static Task<StaticServer> ServingAsync(IReadOnlyDictionary<string, (byte[] Body, string ContentType)> files, CancellationToken cancellationToken = default) =>
        StartAsync(app =>
        {
            foreach (var (path, file) in files)
            {
                app.MapGet(path, () => Results.Bytes(file.Body, file.ContentType));
            }
        }, cancellationToken: cancellationToken);

    public Uri Url(string path) => new(BaseUrl, path.TrimStart('/'));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
