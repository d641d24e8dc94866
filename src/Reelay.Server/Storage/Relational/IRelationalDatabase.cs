using System.Data.Common;

namespace Reelay.Storage.Relational;

/// <summary>
/// What the stores written once for both backends need of a database: a connection to read on, one to
/// write on, a transaction, and the few spellings in which the two dialects differ. Each backend keeps its
/// own connections and its own translation of a database that cannot be used into
/// <see cref="StoreUnavailableException"/>, so the API answers 503 with <c>Retry-After</c> either way.
/// </summary>
public interface IRelationalDatabase
{
    /// <summary>The SQL spellings that differ between SQLite and PostgreSQL.</summary>
    SqlDialect Dialect { get; }

    /// <summary>Applies every schema migration not yet applied, in order; instances starting together apply each once.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Runs a read on a pooled connection.</summary>
    Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken);

    /// <summary>Runs a write on a pooled connection, in autocommit, and records its outcome in the write health readiness reports.</summary>
    Task<T> WriteAsync<T>(Func<DbConnection, Task<T>> write, CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> in one transaction and commits it; anything thrown rolls it back,
    /// so nothing of it is stored.
    /// </summary>
    Task<T> TransactAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken);

    /// <summary>
    /// Runs a transaction that overwrites stored secrets (<paramref name="work"/> answers how many rows it
    /// changed) and, where the backend can, leaves no readable copy of the values it replaced in the files.
    /// </summary>
    Task<int> OverwriteSecretsAsync(Func<DbConnection, DbTransaction, Task<int>> work, CancellationToken cancellationToken);
}
