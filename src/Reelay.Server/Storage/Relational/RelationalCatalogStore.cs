using System.Text.Json;
using Dapper;
using Reelay.Catalog;

namespace Reelay.Storage.Relational;

/// <summary><see cref="ICatalogStore"/> on SQLite or PostgreSQL: each entry as the JSON of its <see cref="ModelOptions"/>.</summary>
public sealed class RelationalCatalogStore(IRelationalDatabase database) : ICatalogStore
{
    public async Task<IReadOnlyList<StoredModel>> ListAsync(CancellationToken cancellationToken)
    {
        var rows = await database.ReadAsync(connection => connection.QueryAsync<CatalogRow>(new CommandDefinition(
            "SELECT name AS Name, options_json AS OptionsJson, updated_at AS UpdatedAt FROM catalog_entries ORDER BY name",
            cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(r => new StoredModel(r.Name, JsonSerializer.Deserialize(r.OptionsJson, StoreJsonContext.Default.ModelOptions) ?? new ModelOptions(), r.UpdatedAt))];
    }

    public Task UpsertAsync(StoredModel model, CancellationToken cancellationToken) =>
        database.WriteAsync(connection => connection.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO catalog_entries (name, options_json, updated_at) VALUES (@name, @options, @at)
            ON CONFLICT {database.Dialect.NameKey("name")} DO UPDATE SET options_json = excluded.options_json, updated_at = excluded.updated_at
            """,
            new { name = model.Name, options = JsonSerializer.Serialize(model.Options, StoreJsonContext.Default.ModelOptions), at = model.UpdatedAt },
            cancellationToken: cancellationToken)), cancellationToken);

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) =>
        await database.WriteAsync(connection => connection.ExecuteAsync(new CommandDefinition(
            $"DELETE FROM catalog_entries WHERE {database.Dialect.SameName("name", "@name")}", new { name }, cancellationToken: cancellationToken)), cancellationToken) == 1;

    private sealed class CatalogRow
    {
        public string Name { get; set; } = "";
        public string OptionsJson { get; set; } = "{}";
        public long UpdatedAt { get; set; }
    }
}
