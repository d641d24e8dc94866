namespace Reelay.Billing;

/// <summary>A price set through the admin API, as stored.</summary>
public sealed record StoredPrice(string Model, Price Price, long UpdatedAt);

/// <summary>Prices set at run time, kept in the database so every instance and restart sees them.</summary>
public interface IPriceStore
{
    Task<IReadOnlyList<StoredPrice>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Sets the model's price, replacing any stored one.</summary>
    Task UpsertAsync(StoredPrice price, CancellationToken cancellationToken);

    /// <summary>Removes the stored price; false when there was none.</summary>
    Task<bool> DeleteAsync(string model, CancellationToken cancellationToken);
}
