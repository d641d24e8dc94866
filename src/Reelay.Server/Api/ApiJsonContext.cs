using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Reelay.Api.Admin;
using Reelay.Api.Billing;
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
[JsonSerializable(typeof(AdminTaskList))]
[JsonSerializable(typeof(AccountView))]
[JsonSerializable(typeof(AccountList))]
[JsonSerializable(typeof(CreateAccountRequest))]
[JsonSerializable(typeof(UpdateAccountRequest))]
[JsonSerializable(typeof(CreditMoveRequest))]
[JsonSerializable(typeof(CreditMoveView))]
[JsonSerializable(typeof(LedgerList))]
[JsonSerializable(typeof(LedgerEntryView))]
[JsonSerializable(typeof(UpdateKeyRequest))]
[JsonSerializable(typeof(CreateAdminKeyRequest))]
[JsonSerializable(typeof(SetPriceRequest))]
[JsonSerializable(typeof(CatalogModelView))]
[JsonSerializable(typeof(CatalogModelList))]
[JsonSerializable(typeof(SetCatalogModelRequest))]
[JsonSerializable(typeof(PriceListView))]
[JsonSerializable(typeof(ModelPriceView))]
[JsonSerializable(typeof(PricingList))]
[JsonSerializable(typeof(PriceQuoteView))]
[JsonSerializable(typeof(UsageView))]
[JsonSerializable(typeof(AuditList))]
[JsonSerializable(typeof(RetryTaskRequest))]
[JsonSerializable(typeof(TaskRetryRecord))]
[JsonSerializable(typeof(WebhookEndpointView))]
[JsonSerializable(typeof(WebhookEndpointList))]
[JsonSerializable(typeof(CreateWebhookEndpointRequest))]
[JsonSerializable(typeof(UpdateWebhookEndpointRequest))]
[JsonSerializable(typeof(WebhookDeliveryView))]
[JsonSerializable(typeof(WebhookDeliveryList))]
[JsonSerializable(typeof(WebhookSecretView))]
[JsonSerializable(typeof(WebhookSecretRecord))]
[JsonSerializable(typeof(WebhookAdminActionRequest))]
public sealed partial class ApiJsonContext : JsonSerializerContext;

/// <summary>How every JSON answer is written, whichever writer produces it.</summary>
public static class ApiJson
{
    /// <summary>
    /// Relaxed escaping: <c>'</c>, <c>&lt;</c>, <c>&amp;</c> and non-ASCII text are written as themselves and
    /// <c>"</c> in a string as <c>\"</c>, not as <c>\u0027</c>-style escapes, because clients print raw bodies
    /// and showed the escapes. Still valid JSON (control characters and lone surrogates stay escaped); the
    /// HTML-safety the default encoder buys is not needed on answers sent as <c>application/json</c>.
    /// </summary>
    public static JavaScriptEncoder Encoder => JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>
    /// The wire records with <see cref="Encoder"/>, for answers written outside the endpoints' JSON options
    /// (the error envelope). A separate class so its initializer runs after the generated context's own.
    /// </summary>
    public static ApiJsonContext Context { get; } = new(new JsonSerializerOptions(ApiJsonContext.Default.Options) { Encoder = Encoder });
}
