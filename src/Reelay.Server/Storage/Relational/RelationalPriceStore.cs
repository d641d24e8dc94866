using System.Collections.Frozen;
using System.Text.Json;
using Dapper;
using Reelay.Billing;

namespace Reelay.Storage.Relational;

/// <summary><see cref="IPriceStore"/> on SQLite or PostgreSQL: amounts in micro-credits, the size and option maps as JSON text.</summary>
public sealed class RelationalPriceStore(IRelationalDatabase database) : IPriceStore
{
    public async Task<IReadOnlyList<StoredPrice>> ListAsync(CancellationToken cancellationToken)
    {
        var rows = await database.ReadAsync(connection => connection.QueryAsync<PriceRow>(new CommandDefinition(
            "SELECT model AS Model, unit AS Unit, amount AS Amount, sizes_json AS SizesJson, options_json AS OptionsJson, updated_at AS UpdatedAt FROM prices ORDER BY model",
            cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(r => r.ToPrice())];
    }

    public Task UpsertAsync(StoredPrice price, CancellationToken cancellationToken) =>
        database.WriteAsync(connection => connection.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO prices (model, unit, amount, sizes_json, options_json, updated_at) VALUES (@model, @unit, @amount, @sizes, @options, @at)
            ON CONFLICT {database.Dialect.NameKey("model")} DO UPDATE SET unit = excluded.unit, amount = excluded.amount, sizes_json = excluded.sizes_json,
                options_json = excluded.options_json, updated_at = excluded.updated_at
            """,
            new
            {
                model = price.Model,
                unit = Price.UnitText(price.Price.Unit),
                amount = price.Price.Amount,
                sizes = JsonSerializer.Serialize(price.Price.Sizes, StoreJsonContext.Default.IReadOnlyDictionaryStringInt64),
                options = JsonSerializer.Serialize(price.Price.Options, StoreJsonContext.Default.IReadOnlyDictionaryStringInt64),
                at = price.UpdatedAt,
            }, cancellationToken: cancellationToken)), cancellationToken);

    public async Task<bool> DeleteAsync(string model, CancellationToken cancellationToken) =>
        await database.WriteAsync(connection => connection.ExecuteAsync(new CommandDefinition(
            $"DELETE FROM prices WHERE {database.Dialect.SameName("model", "@model")}", new { model }, cancellationToken: cancellationToken)), cancellationToken) == 1;

    private sealed class PriceRow
    {
        public string Model { get; set; } = "";
        public string Unit { get; set; } = "";
        public long Amount { get; set; }
        public string SizesJson { get; set; } = "{}";
        public string OptionsJson { get; set; } = "{}";
        public long UpdatedAt { get; set; }

        public StoredPrice ToPrice() => new(Model, new Price(Price.ParseUnit(Unit) ?? PriceUnit.Second, Amount)
        {
            Sizes = Map(SizesJson, StringComparer.Ordinal),
            Options = Map(OptionsJson, StringComparer.Ordinal),
        }, UpdatedAt);

        private static FrozenDictionary<string, long> Map(string json, StringComparer comparer) =>
            (JsonSerializer.Deserialize(json, StoreJsonContext.Default.IReadOnlyDictionaryStringInt64) ?? new Dictionary<string, long>()).ToFrozenDictionary(comparer);
    }
}
