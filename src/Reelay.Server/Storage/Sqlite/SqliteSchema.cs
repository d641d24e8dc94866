namespace Reelay.Storage.Sqlite;

/// <summary>The schema as an ordered list of migrations. Never edit one that has shipped: append.</summary>
internal static class SqliteSchema
{
    public static readonly IReadOnlyList<string> Migrations =
    [
        """
        CREATE TABLE api_keys (
            id          TEXT PRIMARY KEY,
            name        TEXT NOT NULL,
            mode        TEXT NOT NULL CHECK (mode IN ('live', 'test')),
            prefix      TEXT NOT NULL,
            hash        BLOB NOT NULL UNIQUE,
            created_at  INTEGER NOT NULL,
            revoked_at  INTEGER
        );

        CREATE TABLE tasks (
            id               TEXT PRIMARY KEY,
            owner_key_id     TEXT NOT NULL,
            mode             TEXT NOT NULL,
            model            TEXT NOT NULL,
            requested_model  TEXT NOT NULL,
            prompt           TEXT NOT NULL,
            negative_prompt  TEXT,
            aspect_ratio     TEXT NOT NULL,
            size             TEXT NOT NULL,
            duration         INTEGER NOT NULL,
            seed             INTEGER,
            images_json      TEXT NOT NULL,
            options_json     TEXT NOT NULL,
            callback_url     TEXT,
            idempotency_key  TEXT,
            surface          TEXT NOT NULL,
            remixed_from     TEXT,
            stage            TEXT NOT NULL,
            progress         INTEGER NOT NULL DEFAULT 0,
            created_at       INTEGER NOT NULL,
            updated_at       INTEGER NOT NULL,
            completed_at     INTEGER,
            deadline_at      INTEGER NOT NULL,
            next_at          INTEGER NOT NULL,
            lease_token      TEXT,
            lease_until      INTEGER,
            attempts         INTEGER NOT NULL DEFAULT 0,
            polls            INTEGER NOT NULL DEFAULT 0,
            poll_failures    INTEGER NOT NULL DEFAULT 0,
            channel          TEXT,
            provider         TEXT,
            upstream_model   TEXT,
            upstream_id      TEXT,
            result_location  TEXT,
            route_json       TEXT NOT NULL DEFAULT '[]',
            enhanced_prompt  TEXT,
            video_key        TEXT,
            thumbnail_key    TEXT,
            width            INTEGER,
            height           INTEGER,
            video_duration   REAL,
            video_bytes      INTEGER,
            error_code       TEXT,
            error_message    TEXT
        );

        -- Workers look up due work per stage; cost follows the number due, not the table size.
        CREATE INDEX ix_tasks_due ON tasks (stage, next_at);
        CREATE INDEX ix_tasks_deadline ON tasks (stage, deadline_at);
        -- rowid rides along in every index: (owner, created_at, rowid) is the listing order.
        CREATE INDEX ix_tasks_owner ON tasks (owner_key_id, created_at);
        CREATE UNIQUE INDEX ux_tasks_idempotency ON tasks (owner_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        """,
        """
        CREATE TABLE channels (
            name                TEXT PRIMARY KEY COLLATE NOCASE,
            provider            TEXT NOT NULL,
            base_url            TEXT,
            api_key             TEXT,
            models_json         TEXT NOT NULL,
            priority            INTEGER NOT NULL,
            weight              INTEGER NOT NULL,
            enabled             INTEGER NOT NULL,
            submits_per_minute  INTEGER NOT NULL,
            polls_per_minute    INTEGER NOT NULL,
            poll_interval_ms    INTEGER,
            created_at          INTEGER NOT NULL,
            updated_at          INTEGER NOT NULL
        );
        """,
        """
        -- Admission counts a key's unfinished tasks on create: only those rows are indexed.
        CREATE INDEX ix_tasks_owner_unfinished ON tasks (owner_key_id) WHERE stage IN ('pending', 'submitting', 'running', 'finishing');
        """,
        """
        -- One row the write probe rewrites while writes are failing, to learn when they work again.
        CREATE TABLE store_probe (
            id         INTEGER PRIMARY KEY,
            probed_at  INTEGER NOT NULL
        );
        """,
        """
        -- Channel API keys are stored encrypted (Secrets/: Data Protection, the key ring outside the database).
        -- api_key keeps only what an earlier version wrote in plain text, until startup encrypts it into this column.
        ALTER TABLE channels ADD COLUMN api_key_ciphertext TEXT;
        """,
        """
        -- Provider settings that are not secrets (Google Cloud project, location, bucket), as one JSON object.
        -- A service-account key is the channel's secret: it lives in api_key_ciphertext like any API key.
        ALTER TABLE channels ADD COLUMN settings_json TEXT;
        """,
    ];
}
