using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Reelay.Redis;

/// <summary>Redis, shared by every instance (section <c>Redis</c>).</summary>
public sealed class RedisOptions
{
    /// <summary>
    /// A StackExchange.Redis configuration string: <c>127.0.0.1:6379</c>, or
    /// <c>redis.internal:6380,password=…,ssl=true</c>. Unset: rates, wake-ups and key revocation stay
    /// within each process, as on one box.
    /// </summary>
    public string? Configuration { get; set; }
}

/// <summary>A configuration string StackExchange.Redis cannot read, or one naming no server, stops startup naming the setting.</summary>
internal sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Configuration))
        {
            return ValidateOptionsResult.Success;
        }

        try
        {
            return ConfigurationOptions.Parse(options.Configuration).EndPoints.Count == 0
                ? ValidateOptionsResult.Fail("Redis:Configuration names no server; write it as host:port[,option=value…], e.g. 127.0.0.1:6379.")
                : ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            // The parser's message names the option it could not read, never the value (which may be a password).
            return ValidateOptionsResult.Fail($"Redis:Configuration is not a StackExchange.Redis configuration string ({e.Message}); write it as host:port[,option=value…], e.g. 127.0.0.1:6379.");
        }
    }
}
