using Reelay.Api;
using Reelay.Api.Admin;
using Reelay.Api.Errors;
using Reelay.Api.Files;
using Reelay.Api.Models;
using Reelay.Api.OpenAi;
using Reelay.Api.Unified;
using Reelay.Engine;
using Reelay.Hosting;
using Reelay.Images;
using Reelay.Storage;

// appsettings.json ships beside the binary; the data directory stays relative to where Reelay is started.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddReelayConfiguration();

// Storage first: its migrator is a hosted service and must run before the engine's workers start.
builder.Services.AddSqliteStorage();
builder.Services.AddReelayCore();
builder.Services.AddReferenceImages();
builder.Services.AddEngine(builder.Configuration);
builder.Services.AddApiErrors();
builder.Services.AddApiDocs();

var app = builder.Build();
app.ValidateReelayConfiguration();
app.UseApiErrors();

app.MapHealthEndpoints();
app.MapApiDocs();
app.MapUnifiedVideoApi();
app.MapOpenAiVideosApi();
app.MapModelsApi();
app.MapAdminKeysApi();
app.MapAdminChannelsApi();
app.MapAdminTasksApi();
app.MapFilesApi();

app.Run();

/// <summary>Entry point, visible to the test host.</summary>
public partial class Program;
