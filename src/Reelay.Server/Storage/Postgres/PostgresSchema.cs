namespace Reelay.Storage.Postgres;

/// <summary>
/// The PostgreSQL schema as an ordered list of migrations. Never edit one that has shipped: append.
/// The tables and columns are SQLite's (same names, same meanings), so both stores read the same rows:
/// money in bigint micro-credits, times in bigint Unix ms (the engine schedules in Unix ms; lease
/// expiries are written from the database's own clock, <see cref="PostgresDatabase.NowMs"/>), lists and
/// maps as JSON text, counters the code reads as 32-bit numbers as integer.
/// </summary>
internal static class PostgresSchema
{
    public static readonly IReadOnlyList<string> Migrations =
    [
        """
        -- Accounts hold the credits and limits their keys share. held: the sum of open holds; spend_day/spend_today:
        -- what today's (UTC day number) holds came to, less what was released of them; ledger_seq: the last ledger row's number.
        CREATE TABLE accounts (
            id                   text PRIMARY KEY,
            name                 text NOT NULL,
            balance              bigint NOT NULL DEFAULT 0,
            held                 bigint NOT NULL DEFAULT 0,
            unlimited            integer NOT NULL DEFAULT 0,
            ledger_seq           bigint NOT NULL DEFAULT 0,
            spend_day            bigint NOT NULL DEFAULT 0,
            spend_today          bigint NOT NULL DEFAULT 0,
            allowed_models_json  text,
            expires_at           bigint,
            rpm                  bigint,
            max_in_flight        bigint,
            max_spend_per_day    bigint,
            allowed_ips_json     text,
            callback_url         text,
            notes                text,
            created_at           bigint NOT NULL,
            updated_at           bigint NOT NULL,
            revoked_at           bigint
        );

        CREATE TABLE api_keys (
            id                   text PRIMARY KEY,
            name                 text NOT NULL,
            mode                 text NOT NULL CHECK (mode IN ('live', 'test')),
            prefix               text NOT NULL,
            hash                 bytea NOT NULL UNIQUE,
            created_at           bigint NOT NULL,
            revoked_at           bigint,
            account_id           text REFERENCES accounts (id),
            allowed_models_json  text,
            expires_at           bigint,
            rpm                  bigint,
            max_in_flight        bigint,
            max_spend_per_day    bigint,
            allowed_ips_json     text,
            callback_url         text,
            notes                text,
            spend_day            bigint NOT NULL DEFAULT 0,
            spend_today          bigint NOT NULL DEFAULT 0
        );
        CREATE INDEX ix_api_keys_account ON api_keys (account_id, created_at);

        CREATE TABLE admin_keys (
            id          text PRIMARY KEY,
            name        text NOT NULL,
            prefix      text NOT NULL,
            hash        bytea NOT NULL UNIQUE,
            created_at  bigint NOT NULL,
            revoked_at  bigint
        );

        CREATE TABLE tasks (
            id               text PRIMARY KEY,
            -- Insertion order, for keyset pages that stay stable within one millisecond (SQLite's rowid).
            seq              bigint GENERATED ALWAYS AS IDENTITY,
            owner_key_id     text NOT NULL,
            mode             text NOT NULL,
            model            text NOT NULL,
            requested_model  text NOT NULL,
            prompt           text NOT NULL,
            negative_prompt  text,
            aspect_ratio     text NOT NULL,
            size             text NOT NULL,
            duration         integer NOT NULL,
            seed             bigint,
            images_json      text NOT NULL,
            options_json     text NOT NULL,
            callback_url     text,
            idempotency_key  text,
            surface          text NOT NULL,
            remixed_from     text,
            stage            text NOT NULL,
            progress         integer NOT NULL DEFAULT 0,
            created_at       bigint NOT NULL,
            updated_at       bigint NOT NULL,
            completed_at     bigint,
            deadline_at      bigint NOT NULL,
            next_at          bigint NOT NULL,
            lease_token      text,
            -- Unix ms on the database's clock.
            lease_until      bigint,
            attempts         integer NOT NULL DEFAULT 0,
            polls            integer NOT NULL DEFAULT 0,
            poll_failures    integer NOT NULL DEFAULT 0,
            channel          text,
            provider         text,
            upstream_model   text,
            upstream_id      text,
            result_location  text,
            route_json       text NOT NULL DEFAULT '[]',
            enhanced_prompt  text,
            video_key        text,
            thumbnail_key    text,
            width            integer,
            height           integer,
            video_duration   double precision,
            video_bytes      bigint,
            error_code       text,
            error_message    text,
            account_id       text,
            held             bigint NOT NULL DEFAULT 0,
            charged          bigint,
            released         bigint,
            price_unit       text,
            unit_price       bigint NOT NULL DEFAULT 0,
            upstream_cost    bigint,
            hold_seq         bigint,
            settle_seq       bigint,
            cancel_at        bigint,
            webhook_events   text
        );
        -- Workers look up due work per stage; cost follows the number due, not the table size.
        CREATE INDEX ix_tasks_due ON tasks (stage, next_at);
        CREATE INDEX ix_tasks_deadline ON tasks (stage, deadline_at);
        CREATE INDEX ix_tasks_owner ON tasks (owner_key_id, created_at, seq);
        CREATE INDEX ix_tasks_owner_unfinished ON tasks (owner_key_id) WHERE stage IN ('pending', 'submitting', 'running', 'finishing');
        CREATE INDEX ix_tasks_cancel_at ON tasks (cancel_at) WHERE cancel_at IS NOT NULL AND stage IN ('pending', 'submitting', 'running', 'finishing');

        -- An account's idempotency keys, for 24 hours: the primary key decides a race between two creates with one key.
        CREATE TABLE idempotency_keys (
            account_id    text NOT NULL,
            key           text NOT NULL,
            request_hash  bytea NOT NULL,
            task_id       text NOT NULL,
            created_at    bigint NOT NULL,
            PRIMARY KEY (account_id, key)
        );

        -- One row per money movement, numbered 1, 2, 3… per account, with the balance and holds after it.
        CREATE TABLE ledger (
            account_id     text NOT NULL,
            seq            bigint NOT NULL,
            kind           text NOT NULL CHECK (kind IN ('topup', 'adjust', 'hold', 'charge', 'release')),
            amount         bigint NOT NULL,
            balance_after  bigint NOT NULL,
            held_after     bigint NOT NULL,
            key_id         text,
            task_id        text,
            model          text,
            reason         text,
            actor          text,
            at             bigint NOT NULL,
            PRIMARY KEY (account_id, seq)
        );

        -- Append-only, enforced by the database itself: no code path can rewrite history.
        CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger rows are append-only';
        END
        $$;
        CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
        CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
        CREATE TRIGGER ledger_append_only_truncate BEFORE TRUNCATE ON ledger FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

        -- Names compare without case, as SQLite's COLLATE NOCASE does: one row per lower(name).
        CREATE TABLE channels (
            name                      text NOT NULL,
            provider                  text NOT NULL,
            base_url                  text,
            api_key                   text,
            api_key_ciphertext        text,
            models_json               text NOT NULL,
            priority                  integer NOT NULL,
            weight                    integer NOT NULL,
            enabled                   boolean NOT NULL,
            submits_per_minute        integer NOT NULL,
            polls_per_minute          integer NOT NULL,
            poll_interval_ms          bigint,
            public_callback_base_url  text,
            settings_json             text,
            created_at                bigint NOT NULL,
            updated_at                bigint NOT NULL
        );
        CREATE UNIQUE INDEX ux_channels_name ON channels (lower(name));

        CREATE TABLE prices (
            model         text NOT NULL,
            unit          text NOT NULL CHECK (unit IN ('second', 'video')),
            amount        bigint NOT NULL,
            sizes_json    text NOT NULL,
            options_json  text NOT NULL,
            updated_at    bigint NOT NULL
        );
        CREATE UNIQUE INDEX ux_prices_model ON prices (lower(model));

        CREATE TABLE catalog_entries (
            name          text NOT NULL,
            options_json  text NOT NULL,
            updated_at    bigint NOT NULL
        );
        CREATE UNIQUE INDEX ux_catalog_entries_name ON catalog_entries (lower(name));

        CREATE TABLE audit (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at           bigint NOT NULL,
            actor        text NOT NULL,
            action       text NOT NULL,
            target_type  text NOT NULL,
            target_id    text NOT NULL,
            before_json  text,
            after_json   text,
            note         text
        );
        CREATE INDEX ix_audit_target ON audit (target_type, target_id);

        CREATE TABLE webhook_endpoints (
            id               text PRIMARY KEY,
            account_id       text NOT NULL,
            url              text NOT NULL,
            events_json      text,
            description      text,
            enabled          boolean NOT NULL DEFAULT true,
            disabled_reason  text,
            created_at       bigint NOT NULL,
            updated_at       bigint NOT NULL
        );
        CREATE INDEX ix_webhook_endpoints_account ON webhook_endpoints (account_id, created_at);

        CREATE TABLE webhook_secrets (
            account_id           text PRIMARY KEY,
            secret_ciphertext    text NOT NULL,
            previous_ciphertext  text,
            previous_until       bigint,
            rotated_at           bigint NOT NULL
        );

        CREATE TABLE webhook_events (
            id          text PRIMARY KEY,
            task_id     text NOT NULL,
            account_id  text NOT NULL,
            type        text NOT NULL,
            progress    integer NOT NULL,
            created_at  bigint NOT NULL
        );
        CREATE INDEX ix_webhook_events_task ON webhook_events (task_id, type, created_at);

        CREATE TABLE webhook_deliveries (
            id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            event_id      text NOT NULL,
            task_id       text NOT NULL,
            endpoint_id   text,
            url           text NOT NULL,
            state         text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'gone')),
            attempts      integer NOT NULL DEFAULT 0,
            next_at       bigint,
            lease_token   text,
            -- Unix ms on the database's clock.
            lease_until   bigint,
            last_status   integer,
            last_error    text,
            created_at    bigint NOT NULL,
            delivered_at  bigint
        );
        CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
        CREATE INDEX ix_webhook_deliveries_task ON webhook_deliveries (task_id);
        CREATE INDEX ix_webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id) WHERE endpoint_id IS NOT NULL;

        CREATE TABLE webhook_attempts (
            delivery_id  bigint NOT NULL,
            n            integer NOT NULL,
            at           bigint NOT NULL,
            status_code  integer,
            latency_ms   bigint NOT NULL,
            error        text,
            PRIMARY KEY (delivery_id, n)
        );
        """,

        // 2: the trace a task belongs to (W3C traceparent of its create request), so its worker spans join it.
        """
        ALTER TABLE tasks ADD COLUMN trace_parent text;
        """,
    ];
}