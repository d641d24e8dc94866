using Dapper;
using Microsoft.Data.Sqlite;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// Opens connections to the SQLite file with the settings every connection needs, and migrates
/// the schema on start. WAL lets readers run beside the one writer; synchronous=NORMAL in WAL
/// mode survives a killed process (the guarantee tasks need) and syncs at checkpoints.
/// </summary>
public sealed class SqliteDatabase
{
    private readonly string _connectionString;

    public SqliteDatabase(string path)
    {
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        using var pragmas = connection.CreateCommand();
        // busy_timeout: writers queue behind each other instead of failing with SQLITE_BUSY.
        pragmas.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON;";
        await pragmas.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    /// <summary>Applies every migration not yet applied, in order, each in its own transaction.</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await connection.ExecuteAsync("PRAGMA journal_mode=WAL;");
        await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
        for (var version = 1; version <= SqliteSchema.Migrations.Count; version++)
        {
            // BEGIN IMMEDIATE takes the write lock first, so two instances starting together apply each step once.
            await connection.ExecuteAsync("BEGIN IMMEDIATE");
            try
            {
                var applied = await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations WHERE version = @version", new { version });
                if (applied == 0)
                {
                    await connection.ExecuteAsync(SqliteSchema.Migrations[version - 1]);
                    await connection.ExecuteAsync("INSERT INTO schema_migrations (version, applied_at) VALUES (@version, @now)",
                        new { version, now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
                }

                await connection.ExecuteAsync("COMMIT");
            }
            catch
            {
                await connection.ExecuteAsync("ROLLBACK");
                throw;
            }
        }
    }
}
