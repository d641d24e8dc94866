using Microsoft.Extensions.Options;

namespace Reelay.Tasks;

public static class TasksExtensions
{
    /// <summary>Create (<see cref="TaskIntake"/>), its limits, and the signals that wake the engine. The store comes from a storage backend.</summary>
    public static IServiceCollection AddTasks(this IServiceCollection services)
    {
        services.AddOptions<LimitsOptions>().BindConfiguration("Limits").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LimitsOptions>, LimitsOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TaskSignals>();
        services.TryAddSingleton<ITaskChanges, InProcessTaskChanges>();
        services.TryAddSingleton<TaskAdmission>();
        services.TryAddSingleton<RequestImages>();
        services.TryAddSingleton<TaskIntake>();
        services.AddHostedService<TaskCensusSampler>();
        return services;
    }
}
