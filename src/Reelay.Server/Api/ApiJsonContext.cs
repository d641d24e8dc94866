using System.Text.Json.Serialization;
using Reelay.Api.Admin;
using Reelay.Api.Errors;
using Reelay.Api.Models;
using Reelay.Api.Unified;

namespace Reelay.Api;

/// <summary>Source-generated serialization for every wire record: snake_case, nulls written.</summary>
[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ErrorEnvelope))]
[JsonSerializable(typeof(UnifiedCreateResponse))]
[JsonSerializable(typeof(UnifiedQueryResponse))]
[JsonSerializable(typeof(UnifiedCreateRequest))]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(CreatedKey))]
[JsonSerializable(typeof(KeyList))]
[JsonSerializable(typeof(KeyView))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ChannelView))]
[JsonSerializable(typeof(ChannelList))]
[JsonSerializable(typeof(CreateChannelRequest))]
[JsonSerializable(typeof(UpdateChannelRequest))]
[JsonSerializable(typeof(AdminTaskView))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
