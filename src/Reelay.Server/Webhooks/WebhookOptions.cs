using Microsoft.Extensions.Options;

namespace Reelay.Webhooks;

/// <summary>How webhooks are delivered (section <c>Webhooks</c>).</summary>
public sealed class WebhookOptions
{
    /// <summary>Run the notifier in this process (with the engine's workers, <c>Engine:Enabled</c>, unless set).</summary>
    public bool? Enabled { get; set; }

    /// <summary>How long one delivery may take, connect to last byte; a receiver slower than this counts as failed and is tried again.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Deliveries in flight at once.</summary>
    public int Concurrency { get; set; } = 16;

    /// <summary>How long a claim holds a delivery before another instance may take it; longer than <see cref="Timeout"/>, so a try in flight is never repeated beside itself.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Longest the notifier sleeps before looking for due deliveries: events written by any instance are picked up within it.</summary>
    public TimeSpan IdleDelay { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Positive durations and counts; a lease no longer than the timeout would let two instances send the same try.</summary>
internal sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var builder = new ValidateOptionsResultBuilder();
        foreach (var (value, setting) in (ReadOnlySpan<(TimeSpan, string)>)[
            (options.Timeout, nameof(options.Timeout)), (options.LeaseDuration, nameof(options.LeaseDuration)), (options.IdleDelay, nameof(options.IdleDelay))])
        {
            if (value <= TimeSpan.Zero)
            {
                builder.AddError($"must be positive, got {value}", "Webhooks:" + setting);
            }
        }

        if (options.Concurrency <= 0)
        {
            builder.AddError($"must be at least 1, got {options.Concurrency}", "Webhooks:" + nameof(options.Concurrency));
        }

        if (options.LeaseDuration <= options.Timeout)
        {
            builder.AddError($"must be longer than Webhooks:Timeout ({options.Timeout}), got {options.LeaseDuration}", "Webhooks:" + nameof(options.LeaseDuration));
        }

        return builder.Build();
    }
}
