using Microsoft.Extensions.Options;
using Reelay.Providers;

namespace Reelay.Channels;

/// <summary>What is wrong with a channel definition.</summary>
public enum ChannelProblemKind
{
    /// <summary>A value cannot work (unknown provider, bad URL, negative budget…).</summary>
    Invalid,

    /// <summary>Another channel already has the name.</summary>
    NameTaken,
}

/// <summary>One problem with a channel definition, naming the field at fault.</summary>
public sealed record ChannelProblem(ChannelProblemKind Kind, string Field, string Message);

/// <summary>The rules a channel must follow, wherever it is defined: configuration or the admin API.</summary>
public static class ChannelRules
{
    public static ChannelProblem? Check(ChannelOptions config, IEnumerable<string> providers, ISet<string> takenNames)
    {
        if (string.IsNullOrWhiteSpace(config.Name) || config.Name.Length > 64 || !config.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            return new(ChannelProblemKind.Invalid, "name", "Name must be 1–64 letters, digits, '-', '_' or '.'.");
        }

        if (!providers.Contains(config.Provider ?? "", StringComparer.OrdinalIgnoreCase))
        {
            return new(ChannelProblemKind.Invalid, "provider", $"Provider '{config.Provider}' is not one of {string.Join(", ", providers.Order(StringComparer.Ordinal))}.");
        }

        if (!string.IsNullOrWhiteSpace(config.BaseUrl)
            && (!Uri.TryCreate(config.BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            return new(ChannelProblemKind.Invalid, "base_url", $"BaseUrl '{config.BaseUrl}' is not an absolute http(s) URL.");
        }

        if (config.Provider!.Equals(ProviderNames.Unified, StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(config.BaseUrl))
        {
            return new(ChannelProblemKind.Invalid, "base_url", "a unified relay has no public endpoint: set BaseUrl to the relay's address.");
        }

        if (config.Provider!.Equals(ProviderNames.ComfyUi, StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(config.BaseUrl))
        {
            return new(ChannelProblemKind.Invalid, "base_url", "a ComfyUI server is self-hosted: set BaseUrl to its address (http://host:8188).");
        }

        if (!string.IsNullOrWhiteSpace(config.PublicCallbackBaseUrl)
            && (!Uri.TryCreate(config.PublicCallbackBaseUrl, UriKind.Absolute, out var callbacks) || (callbacks.Scheme != Uri.UriSchemeHttp && callbacks.Scheme != Uri.UriSchemeHttps)))
        {
            return new(ChannelProblemKind.Invalid, "public_callback_base_url", $"PublicCallbackBaseUrl '{config.PublicCallbackBaseUrl}' is not an absolute http(s) URL (Reelay's address as the upstream sees it).");
        }

        // Callback URLs are built under its path; a query or fragment would be dropped or end up inside the token.
        if (!string.IsNullOrWhiteSpace(config.PublicCallbackBaseUrl) && Uri.TryCreate(config.PublicCallbackBaseUrl, UriKind.Absolute, out var callbackBase)
            && (callbackBase.Query.Length > 0 || callbackBase.Fragment.Length > 0))
        {
            return new(ChannelProblemKind.Invalid, "public_callback_base_url", $"PublicCallbackBaseUrl '{config.PublicCallbackBaseUrl}' has a query or fragment: give Reelay's address alone, such as https://reelay.example.com/ (callback URLs are built under its path).");
        }

        if (config.CallbackPollInterval <= TimeSpan.Zero)
        {
            return new(ChannelProblemKind.Invalid, "callback_poll_interval", "CallbackPollInterval must be positive.");
        }

        if (config.Weight < 0 || config.SubmitsPerMinute < 0 || config.PollsPerMinute < 0)
        {
            return new(ChannelProblemKind.Invalid, "weight", "Weight, SubmitsPerMinute and PollsPerMinute cannot be negative.");
        }

        return takenNames.Add(config.Name) ? null : new(ChannelProblemKind.NameTaken, "name", $"the name '{config.Name}' is used twice.");
    }
}

/// <summary>A configured channel without a name is called after its provider and position (<c>xai-0</c>).</summary>
internal sealed class DefaultChannelNames : IPostConfigureOptions<List<ChannelOptions>>
{
    public void PostConfigure(string? name, List<ChannelOptions> options)
    {
        for (var i = 0; i < options.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options[i].Name))
            {
                options[i].Name = $"{options[i].Provider}-{i}";
            }
        }
    }
}

/// <summary>Stops startup on a configured channel that cannot work, naming its index, name and problem.</summary>
internal sealed class ChannelOptionsValidator(IEnumerable<IVideoProvider> providers) : IValidateOptions<List<ChannelOptions>>
{
    public ValidateOptionsResult Validate(string? name, List<ChannelOptions> options)
    {
        var providerNames = providers.Select(p => p.Name).ToList();
        var taken = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ChannelRegistry.LocalChannelName };
        var errors = new List<string>();
        for (var i = 0; i < options.Count; i++)
        {
            if (ChannelRules.Check(options[i], providerNames, taken) is { } problem)
            {
                errors.Add($"Channels:{i} ('{options[i].Name}'): {problem.Message}");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
