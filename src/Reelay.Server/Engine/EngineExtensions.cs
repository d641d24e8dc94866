using Microsoft.Extensions.Options;
using Reelay.Tasks;

namespace Reelay.Engine;

public static class EngineExtensions
{
    /// <summary>The workers that carry tasks from pending to an end: dispatcher, poller, finisher, deadline sweeper, and the startup sweep of scratch files.</summary>
    public static IServiceCollection AddEngine(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EngineOptions>().BindConfiguration("Engine").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EngineOptions>, EngineOptionsValidator>());
        services.TryAddSingleton<TaskSignals>();
        services.TryAddSingleton<ReportedChanges>();
        services.AddOptions<UpstreamCallbackOptions>().BindConfiguration("Callbacks");
        services.TryAddSingleton<UpstreamCallbacks>();

        // On every instance, API-only ones included: a client's cancel may arrive at any of them.
        services.TryAddSingleton<TaskCanceller>();
        services.AddHostedService(sp => sp.GetRequiredService<TaskCanceller>());

        // Callbacks are taken in on every instance, API-only ones included: the nudge is a database write any worker sees.
        services.AddHostedService<CallbackReceiver>();
        services.AddOptions<HostOptions>().Configure<IOptions<EngineOptions>>((host, engine) =>
            host.ShutdownTimeout = engine.Value.ShutdownGrace + TimeSpan.FromSeconds(10));
        if (configuration.GetValue("Engine:Enabled", true))
        {
            // First: hosted services start in order, so leftovers of a killed run go before any worker claims.
            services.AddHostedService<ScratchSweeper>();
            services.AddHostedService<Dispatcher>();
            services.AddHostedService<Poller>();
            services.AddHostedService<Finisher>();
            services.AddHostedService<DeadlineSweeper>();
        }

        return services;
    }
}
