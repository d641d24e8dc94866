using Reelay.Api;
using Reelay.Api.Admin;
using Reelay.Api.Callbacks;
using Reelay.Api.Billing;
using Reelay.Api.Dashboard;
using Reelay.Api.Errors;
using Reelay.Api.Files;
using Reelay.Api.Models;
using Reelay.Api.OpenAi;
using Reelay.Api.Unified;
using Reelay.Billing;
using Reelay.Blobs;
using Reelay.Catalog;
using Reelay.Channels;
using Reelay.Engine;
using Reelay.Health;
using Reelay.Hosting;
using Reelay.Images;
using Reelay.Keys;
using Reelay.Secrets;
using Reelay.Limits;
using Reelay.Storage.Postgres;
using Reelay.Redis;
using Reelay.Storage.Sqlite;
using Reelay.Tasks;
using Reelay.Telemetry;
using Reelay.Webhooks;

// appsettings.json ships beside the binary; the data directory stays relative to where Reelay is started.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddReelayConfiguration();

// The concerns, each registering itself. Every setting is validated when the host starts, so a bad
// one stops startup with a message naming it; the storage backend migrates before anything reads it.
builder.Services.AddTelemetry(builder.Configuration);
builder.Services.AddDataDirectory();
builder.Services.AddSecrets();
// The embedded SQLite file unless Storage:Provider chooses PostgreSQL, which several instances can share.
if (PostgresStorageExtensions.ChoosesPostgres(builder.Configuration))
{
    builder.Services.AddPostgresStorage();
}
else
{
    builder.Services.AddSqliteStorage();
}
builder.Services.AddBlobs(builder.Configuration);
builder.Services.AddCatalog();
builder.Services.AddKeys();
builder.Services.AddBilling();
builder.Services.AddRequestLimits();
builder.Services.AddReferenceImages();
builder.Services.AddChannels();
builder.Services.AddTasks();
// After the in-process rates, wake-ups and key notices: with Redis configured, shared ones replace them.
builder.Services.AddRedis(builder.Configuration);
builder.Services.AddEngine(builder.Configuration);
builder.Services.AddWebhooks(builder.Configuration);
builder.Services.AddApi();
builder.Services.AddApiDocs();

var app = builder.Build();
app.UseApiErrors();
// Before any endpoint: signed links are built from the Host header when PUBLIC_URL is unset.
app.UseAllowedHosts();

app.MapHealthEndpoints();
app.MapMetricsEndpoint();
app.MapApiDocs();
app.MapUnifiedVideoApi();
app.MapOpenAiVideosApi();
app.MapModelsApi();
app.MapBillingApi();
app.MapAdminAccountsApi();
app.MapAdminKeysApi();
app.MapAdminPricesApi();
app.MapAdminModelsApi();
app.MapAdminAuditApi();
app.MapAdminChannelsApi();
app.MapAdminSecretsApi();
app.MapAdminTasksApi();
app.MapAdminWebhooksApi();
app.MapFilesApi();
// Upstreams report job changes here; a report only makes Reelay poll sooner.
app.MapUpstreamCallbacksApi();
// The browser dashboard at /: static modules that call the routes above with the signed-in key.
app.MapDashboard();

app.Run();

/// <summary>Entry point, visible to the test host.</summary>
public partial class Program;
