using Reelay.Storage.Sqlite;

namespace Reelay.Hosting;

/// <summary><c>/healthz</c>: the process answers. <c>/readyz</c>: it can also reach its database and write its data directory.</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", () => TypedResults.Text("ok")).ExcludeFromDescription();
        routes.MapGet("/readyz", ReadyAsync).ExcludeFromDescription();
        return routes;
    }

    private static async Task<IResult> ReadyAsync(SqliteDatabase database, DataDirectory data, CancellationToken cancellationToken)
    {
        try
        {
            using var session = await database.RentSessionAsync(cancellationToken);
            await session.Command("SELECT 1").ExecuteScalarAsync(cancellationToken);
            if (!Directory.Exists(data.Files))
            {
                return TypedResults.Text($"data directory {data.Files} is missing", statusCode: 503);
            }

            return TypedResults.Text("ready");
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            return TypedResults.Text("database unavailable: " + e.Message, statusCode: 503);
        }
    }
}
