using Microsoft.Extensions.Options;
using Reelay.Storage;

namespace Reelay.Billing;

public static class BillingExtensions
{
    /// <summary>Prices from the <c>Billing</c> section and the admin API, checked at startup. The price store comes from a storage backend.</summary>
    public static IServiceCollection AddBilling(this IServiceCollection services)
    {
        services.AddOptions<BillingOptions>().BindConfiguration("Billing").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BillingOptions>, BillingOptionsValidator>());
        services.TryAddSingleton<PriceList>();
        services.TryAddSingleton<IStoredConfigurationChanges, SingleInstanceConfigurationChanges>();
        services.AddHostedService<PriceReloader>();
        return services;
    }
}
