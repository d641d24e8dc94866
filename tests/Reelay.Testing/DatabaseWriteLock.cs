using Microsoft.Data.Sqlite;

namespace Reelay.Testing;

/// <summary>
/// Holds a SQLite database's write lock from a connection of its own, as another process would (a
/// second instance, the sqlite3 shell, a backup tool), until disposed.
/// </summary>
public sealed class DatabaseWriteLock : IAsyncDisposable
{
    private readonly SqliteConnection _connection;

    private DatabaseWriteLock(SqliteConnection connection) => _connection = connection;

    /// <summary>Takes the lock with <c>BEGIN IMMEDIATE</c>, waiting for a write in progress to finish.</summary>
    public static async Task<DatabaseWriteLock> TakeAsync(string databasePath, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        await connection.OpenAsync(cancellationToken);
        await using var begin = connection.CreateCommand();
        begin.CommandText = "BEGIN IMMEDIATE";
        await begin.ExecuteNonQueryAsync(cancellationToken);
        return new DatabaseWriteLock(connection);
    }

    public async ValueTask DisposeAsync()
    {
        await using (var rollback = _connection.CreateCommand())
        {
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync();
        }

        await _connection.DisposeAsync();
    }
}
