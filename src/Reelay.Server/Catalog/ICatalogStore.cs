namespace Reelay.Catalog;

/// <summary>A catalog entry set through the admin API, as stored: it replaces a configured entry of the same name, or adds one.</summary>
public sealed record StoredModel(string Name, ModelOptions Options, long UpdatedAt);

/// <summary>Catalog entries set at run time, kept in the database so every instance and restart sees them.</summary>
public interface ICatalogStore
{
    Task<IReadOnlyList<StoredModel>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Sets the entry, replacing any stored one of that name.</summary>
    Task UpsertAsync(StoredModel model, CancellationToken cancellationToken);

    /// <summary>Removes the stored entry; false when there was none.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken);
}
