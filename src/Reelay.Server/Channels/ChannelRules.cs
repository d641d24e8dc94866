using Microsoft.Extensions.Options;
using Reelay.Providers;
using Reelay.Providers.GoogleCloud;

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

        if (config.Provider!.Equals(ProviderNames.Veo, StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(config.BaseUrl))
        {
            return new(ChannelProblemKind.Invalid, "base_url",
                "Google no longer serves Veo on the Gemini API (its Veo ids were turned off by 2026-10-22): use provider vertex-veo with a service-account key for veo3.1*, " +
                "or gemini-omni with this AI Studio key. A veo channel is for a self-hosted Gemini-compatible server: set BaseUrl to its address.");
        }

        if (GoogleCloudProblem(config) is { } google)
        {
            return google;
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

        if (RetiredModelsProblem(config) is { } retired)
        {
            return retired;
        }

        return takenNames.Add(config.Name) ? null : new(ChannelProblemKind.NameTaken, "name", $"the name '{config.Name}' is used twice.");
    }

    /// <summary>A retirement is of a name the channel lists, and names another model to replace it.</summary>
    private static ChannelProblem? RetiredModelsProblem(ChannelOptions config)
    {
        foreach (var (model, retired) in config.RetiredModels)
        {
            var listed = config.Models.Any(entry => entry.Split('=', 2)[0].Trim().Equals(model.Trim(), StringComparison.OrdinalIgnoreCase));
            if (!listed)
            {
                return new(ChannelProblemKind.Invalid, "retired_models", $"RetiredModels names '{model}', which is not among the channel's Models: retire a model the channel lists.");
            }

            if (string.IsNullOrWhiteSpace(retired.ReplacedBy) || retired.ReplacedBy.Trim().Equals(model.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return new(ChannelProblemKind.Invalid, "retired_models", $"RetiredModels '{model}': ReplacedBy must name another model, the one that replaces it.");
            }
        }

        return null;
    }

    private static ChannelProblem? GoogleCloudProblem(ChannelOptions config)
    {
        var vertexVeo = config.Provider!.Equals(ProviderNames.VertexVeo, StringComparison.OrdinalIgnoreCase);
        var omni = config.Provider.Equals(ProviderNames.GeminiOmni, StringComparison.OrdinalIgnoreCase);
        if (!string.IsNullOrWhiteSpace(config.ServiceAccountKey) && !string.IsNullOrWhiteSpace(config.ApiKey))
        {
            return new(ChannelProblemKind.Invalid, "service_account_key", "Set ServiceAccountKey or ApiKey, not both: a channel holds one secret.");
        }

        if (!vertexVeo && !omni)
        {
            return !string.IsNullOrWhiteSpace(config.ServiceAccountKey) || !string.IsNullOrWhiteSpace(config.Project)
                || !string.IsNullOrWhiteSpace(config.Location) || !string.IsNullOrWhiteSpace(config.Bucket)
                ? new(ChannelProblemKind.Invalid, "service_account_key", $"ServiceAccountKey, Project, Location and Bucket are for the {ProviderNames.VertexVeo} and {ProviderNames.GeminiOmni} providers, not '{config.Provider}'.")
                : null;
        }

        var secret = string.IsNullOrWhiteSpace(config.ServiceAccountKey) ? config.ApiKey : config.ServiceAccountKey;
        var vertex = vertexVeo || GoogleServiceAccount.LooksLikeKey(secret);
        if (vertexVeo && !string.IsNullOrWhiteSpace(secret) && !GoogleServiceAccount.LooksLikeKey(secret))
        {
            return new(ChannelProblemKind.Invalid, "service_account_key", "Vertex AI takes a service-account JSON key, not an API key: set ServiceAccountKey (service_account_key) to the key file's JSON.");
        }

        GoogleServiceAccount? account = null;
        if (vertex && !string.IsNullOrWhiteSpace(secret) && !GoogleServiceAccount.TryParse(secret, out account, out var problem))
        {
            return new(ChannelProblemKind.Invalid, "service_account_key", "The service account key cannot be used: " + problem);
        }

        if (!vertex && (!string.IsNullOrWhiteSpace(config.Project) || !string.IsNullOrWhiteSpace(config.Bucket)))
        {
            return new(ChannelProblemKind.Invalid, "project", "Project and Bucket are for Gemini Omni on Vertex AI, which takes a service-account key (ServiceAccountKey); with an AI Studio API key, leave them out.");
        }

        if (vertex && account is not null && string.IsNullOrWhiteSpace(config.Project) && string.IsNullOrWhiteSpace(account.ProjectId))
        {
            return new(ChannelProblemKind.Invalid, "project", "The service-account key names no project_id: set Project to the Google Cloud project to bill.");
        }

        if (!string.IsNullOrWhiteSpace(config.Location))
        {
            var location = config.Location.Trim();
            if (omni && location != "global")
            {
                return new(ChannelProblemKind.Invalid, "location", $"Gemini Omni on Vertex AI is served at location 'global' only, not '{location}'; leave Location out.");
            }

            if (!GoogleCloudChannelRules.Location().IsMatch(location))
            {
                return new(ChannelProblemKind.Invalid, "location", $"Location '{location}' is not a Google Cloud region such as us-central1.");
            }
        }

        if (!string.IsNullOrWhiteSpace(config.Bucket) && !GoogleCloudChannelRules.Bucket().IsMatch(config.Bucket.Trim()))
        {
            return new(ChannelProblemKind.Invalid, "bucket", $"Bucket '{config.Bucket}' is not a Cloud Storage bucket name (my-bucket, or gs://my-bucket/prefix).");
        }

        return null;
    }
}

/// <summary>The Google Cloud fields (<c>vertex-veo</c>, <c>gemini-omni</c>): a key that parses, a project, a region, a bucket name.</summary>
internal static partial class GoogleCloudChannelRules
{
    [System.Text.RegularExpressions.GeneratedRegex("^[a-z][a-z0-9-]{0,62}$")]
    internal static partial System.Text.RegularExpressions.Regex Location();

    // Bucket names: 3–63 (222 with dots) lower-case letters, digits, '-', '_', '.'; then an optional object prefix.
    [System.Text.RegularExpressions.GeneratedRegex("^(gs://)?[a-z0-9][a-z0-9._-]{1,221}[a-z0-9](/[^\\s]*)?$")]
    internal static partial System.Text.RegularExpressions.Regex Bucket();
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
