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
        -- Accounts hold the credits and limits their keys share. Money is integer micro-credits.
        -- held: the sum of open holds; spend_day/spend_today: what today's (UTC day number) holds came to,
        -- less what was released of them, for the daily spend limit; ledger_seq: the last ledger row's number.
        CREATE TABLE accounts (
            id                   TEXT PRIMARY KEY,
            name                 TEXT NOT NULL,
            balance              INTEGER NOT NULL DEFAULT 0,
            held                 INTEGER NOT NULL DEFAULT 0,
            unlimited            INTEGER NOT NULL DEFAULT 0,
            ledger_seq           INTEGER NOT NULL DEFAULT 0,
            spend_day            INTEGER NOT NULL DEFAULT 0,
            spend_today          INTEGER NOT NULL DEFAULT 0,
            allowed_models_json  TEXT,
            expires_at           INTEGER,
            rpm                  INTEGER,
            max_in_flight        INTEGER,
            max_spend_per_day    INTEGER,
            allowed_ips_json     TEXT,
            callback_url         TEXT,
            notes                TEXT,
            created_at           INTEGER NOT NULL,
            updated_at           INTEGER NOT NULL,
            revoked_at           INTEGER
        );

        ALTER TABLE api_keys ADD COLUMN account_id TEXT REFERENCES accounts (id);
        ALTER TABLE api_keys ADD COLUMN allowed_models_json TEXT;
        ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
        ALTER TABLE api_keys ADD COLUMN rpm INTEGER;
        ALTER TABLE api_keys ADD COLUMN max_in_flight INTEGER;
        ALTER TABLE api_keys ADD COLUMN max_spend_per_day INTEGER;
        ALTER TABLE api_keys ADD COLUMN allowed_ips_json TEXT;
        ALTER TABLE api_keys ADD COLUMN callback_url TEXT;
        ALTER TABLE api_keys ADD COLUMN notes TEXT;
        ALTER TABLE api_keys ADD COLUMN spend_day INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE api_keys ADD COLUMN spend_today INTEGER NOT NULL DEFAULT 0;

        -- Keys made before accounts existed were never charged: each becomes a one-key unlimited account.
        INSERT INTO accounts (id, name, unlimited, created_at, updated_at)
            SELECT 'acct_' || substr(id, 5), name, 1, created_at, created_at FROM api_keys;
        UPDATE api_keys SET account_id = 'acct_' || substr(id, 5);
        CREATE INDEX ix_api_keys_account ON api_keys (account_id, created_at);

        -- Named admin keys beside the bootstrap one.
        CREATE TABLE admin_keys (
            id          TEXT PRIMARY KEY,
            name        TEXT NOT NULL,
            prefix      TEXT NOT NULL,
            hash        BLOB NOT NULL UNIQUE,
            created_at  INTEGER NOT NULL,
            revoked_at  INTEGER
        );

        -- What each task holds, was charged and was given back (null until it ended), at what price.
        ALTER TABLE tasks ADD COLUMN account_id TEXT;
        ALTER TABLE tasks ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tasks ADD COLUMN charged INTEGER;
        ALTER TABLE tasks ADD COLUMN released INTEGER;
        ALTER TABLE tasks ADD COLUMN price_unit TEXT;
        ALTER TABLE tasks ADD COLUMN unit_price INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tasks ADD COLUMN upstream_cost INTEGER;
        -- Where the task's ledger rows are: its hold, and the first of its charge and release.
        ALTER TABLE tasks ADD COLUMN hold_seq INTEGER;
        ALTER TABLE tasks ADD COLUMN settle_seq INTEGER;
        UPDATE tasks SET account_id = 'acct_' || substr(owner_key_id, 5);
        UPDATE tasks SET charged = 0, released = 0 WHERE stage IN ('completed', 'failed', 'cancelled');
        -- No index of its own on account_id: an account's tasks are found through its keys (ix_tasks_owner,
        -- ix_tasks_owner_unfinished), so a create maintains no more indexes than before.

        -- Idempotency is scoped to the account and lasts 24 hours, so it moves to its own table: a unique
        -- index on the task row could not let a key be used again once its day is over.
        DROP INDEX ux_tasks_idempotency;
        CREATE TABLE idempotency_keys (
            account_id    TEXT NOT NULL,
            key           TEXT NOT NULL,
            request_hash  BLOB NOT NULL,
            task_id       TEXT NOT NULL,
            created_at    INTEGER NOT NULL,
            PRIMARY KEY (account_id, key)
        ) WITHOUT ROWID;

        -- One row per money movement, numbered 1, 2, 3… per account, with the balance and holds after it.
        -- amount is positive for every kind but adjust, which carries its sign.
        CREATE TABLE ledger (
            account_id     TEXT NOT NULL,
            seq            INTEGER NOT NULL,
            kind           TEXT NOT NULL CHECK (kind IN ('topup', 'adjust', 'hold', 'charge', 'release')),
            amount         INTEGER NOT NULL,
            balance_after  INTEGER NOT NULL,
            held_after     INTEGER NOT NULL,
            key_id         TEXT,
            task_id        TEXT,
            model          TEXT,
            reason         TEXT,
            actor          TEXT,
            at             INTEGER NOT NULL,
            PRIMARY KEY (account_id, seq)
        ) WITHOUT ROWID;
        -- No index by task: task ids are random, and each insert into such an index lands on a random page.
        -- A task names its rows' numbers (hold_seq, settle_seq) instead, so the ledger only ever appends.

        -- Append-only, enforced by the database itself: no code path can rewrite history.
        CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON ledger
        BEGIN
            SELECT RAISE(ABORT, 'ledger rows are append-only');
        END;
        CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger
        BEGIN
            SELECT RAISE(ABORT, 'ledger rows are append-only');
        END;

        -- Prices set at run time, over those of the configuration.
        CREATE TABLE prices (
            model         TEXT PRIMARY KEY COLLATE NOCASE,
            unit          TEXT NOT NULL CHECK (unit IN ('second', 'video')),
            amount        INTEGER NOT NULL,
            sizes_json    TEXT NOT NULL,
            options_json  TEXT NOT NULL,
            updated_at    INTEGER NOT NULL
        );

        -- Every admin change: who (the admin key), what, before and after, when.
        CREATE TABLE audit (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            at           INTEGER NOT NULL,
            actor        TEXT NOT NULL,
            action       TEXT NOT NULL,
            target_type  TEXT NOT NULL,
            target_id    TEXT NOT NULL,
            before_json  TEXT,
            after_json   TEXT,
            note         TEXT
        );
        CREATE INDEX ix_audit_target ON audit (target_type, target_id);
        """,
        """
        -- Catalog entries set through the admin API, over those of the configuration; the entry as JSON.
        CREATE TABLE catalog_entries (
            name          TEXT PRIMARY KEY COLLATE NOCASE,
            options_json  TEXT NOT NULL,
            updated_at    INTEGER NOT NULL
        );
        """,
        """
        -- Reelay's address as the channel's upstream sees it: jobs are submitted with callback URLs under it.
        ALTER TABLE channels ADD COLUMN public_callback_base_url TEXT;
        """,
        """
        -- Provider settings that are not secrets (Google Cloud project, location, bucket), as one JSON object.
        -- A service-account key is the channel's secret: it lives in api_key_ciphertext like any API key.
        ALTER TABLE channels ADD COLUMN settings_json TEXT;
        """,
        """
        -- The client's own deadline (Cancel-After, timeout): past it the task is cancelled. The sweep reads the
        -- few unfinished rows that have one along this partial index, never the whole table.
        ALTER TABLE tasks ADD COLUMN cancel_at INTEGER;
        CREATE INDEX ix_tasks_cancel_at ON tasks (cancel_at) WHERE cancel_at IS NOT NULL AND stage IN ('pending', 'submitting', 'running', 'finishing');
        """,
        """
        -- Webhooks: the events a task's changes cause (the outbox), one delivery per event and target with
        -- its attempts, the endpoints accounts register, and each account's signing secret (encrypted).
        ALTER TABLE tasks ADD COLUMN webhook_events TEXT;

        CREATE TABLE webhook_endpoints (
            id           TEXT PRIMARY KEY,
            account_id   TEXT NOT NULL,
            url          TEXT NOT NULL,
            events_json  TEXT,
            description  TEXT,
            enabled      INTEGER NOT NULL DEFAULT 1,
            disabled_reason TEXT,
            created_at   INTEGER NOT NULL,
            updated_at   INTEGER NOT NULL
        );
        CREATE INDEX ix_webhook_endpoints_account ON webhook_endpoints (account_id, created_at);

        CREATE TABLE webhook_secrets (
            account_id           TEXT PRIMARY KEY,
            secret_ciphertext    TEXT NOT NULL,
            previous_ciphertext  TEXT,
            previous_until       INTEGER,
            rotated_at           INTEGER NOT NULL
        );

        CREATE TABLE webhook_events (
            id          TEXT PRIMARY KEY,
            task_id     TEXT NOT NULL,
            account_id  TEXT NOT NULL,
            type        TEXT NOT NULL,
            progress    INTEGER NOT NULL,
            created_at  INTEGER NOT NULL
        );
        CREATE INDEX ix_webhook_events_task ON webhook_events (task_id, type, created_at);

        CREATE TABLE webhook_deliveries (
            id           INTEGER PRIMARY KEY,
            event_id     TEXT NOT NULL,
            task_id      TEXT NOT NULL,
            endpoint_id  TEXT,
            url          TEXT NOT NULL,
            state        TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'gone')),
            attempts     INTEGER NOT NULL DEFAULT 0,
            next_at      INTEGER,
            lease_token  TEXT,
            lease_until  INTEGER,
            last_status  INTEGER,
            last_error   TEXT,
            created_at   INTEGER NOT NULL,
            delivered_at INTEGER
        );
        CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
        CREATE INDEX ix_webhook_deliveries_task ON webhook_deliveries (task_id);
        CREATE INDEX ix_webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id) WHERE endpoint_id IS NOT NULL;

        CREATE TABLE webhook_attempts (
            delivery_id  INTEGER NOT NULL,
            n            INTEGER NOT NULL,
            at           INTEGER NOT NULL,
            status_code  INTEGER,
            latency_ms   INTEGER NOT NULL,
            error        TEXT,
            PRIMARY KEY (delivery_id, n)
        ) WITHOUT ROWID;
        """,

        // 12: the trace a task belongs to (W3C traceparent of its create request), so its worker spans join it.
        """
        ALTER TABLE tasks ADD COLUMN trace_parent TEXT;
        """,
    ];
}