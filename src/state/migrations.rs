//! The store's schema, versioned through SQLite's `user_version`. Each step
//! runs once, in order, inside a transaction; a store newer than this binary
//! is refused rather than guessed at.

pub(crate) const STEPS: &[&str] = &[
    // 1: the first layout.
    r#"
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        content_hash TEXT NOT NULL,
        name TEXT NOT NULL,
        flow TEXT NOT NULL,
        exported_at TEXT,
        mode TEXT,
        status TEXT NOT NULL,
        records INTEGER NOT NULL DEFAULT 0,
        bad_records INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        first_seen TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX files_by_hash ON files (content_hash);
    CREATE INDEX files_by_flow ON files (flow, exported_at);

    CREATE TABLE desired (
        flow TEXT NOT NULL,
        key TEXT NOT NULL,
        key_hash INTEGER NOT NULL,
        hash INTEGER NOT NULL,
        payload TEXT NOT NULL,
        removed INTEGER NOT NULL DEFAULT 0,
        file_id INTEGER,
        PRIMARY KEY (flow, key)
    ) WITHOUT ROWID;
    CREATE INDEX desired_by_key_hash ON desired (flow, key_hash);

    CREATE TABLE applied (
        target TEXT NOT NULL,
        flow TEXT NOT NULL,
        key TEXT NOT NULL,
        key_hash INTEGER NOT NULL,
        hash INTEGER NOT NULL,
        payload TEXT NOT NULL,
        removed INTEGER NOT NULL DEFAULT 0,
        applied_at TEXT NOT NULL,
        PRIMARY KEY (target, flow, key)
    ) WITHOUT ROWID;
    CREATE INDEX applied_by_key_hash ON applied (target, flow, key_hash);

    CREATE TABLE snapshots (
        scope TEXT PRIMARY KEY,
        entries INTEGER NOT NULL,
        data BLOB NOT NULL,
        updated_at TEXT NOT NULL
    );

    CREATE TABLE failures (
        target TEXT NOT NULL,
        flow TEXT NOT NULL,
        key TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        last_error TEXT NOT NULL,
        next_try TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (target, flow, key)
    );

    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT,
        summary TEXT
    );

    CREATE TABLE watermarks (
        scope TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    "#,
    // 2: the orders export (Magento to ERP). `order_exports` says which
    // orders reached the outbound folder, in which file; an
    // `order_export_intents` row is written before its file and removed
    // in the transaction that records its exports (see src/orders/export.rs).
    r#"
    CREATE TABLE order_exports (
        target TEXT NOT NULL,
        order_id INTEGER NOT NULL,
        increment_id TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        file TEXT NOT NULL,
        exported_at TEXT NOT NULL,
        followup_pending INTEGER NOT NULL DEFAULT 0,
        followup_attempts INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (target, order_id)
    );
    CREATE INDEX order_exports_by_file ON order_exports (file);
    CREATE INDEX order_exports_followups ON order_exports (target, followup_pending);

    CREATE TABLE order_export_intents (
        id INTEGER PRIMARY KEY,
        target TEXT NOT NULL,
        file TEXT NOT NULL UNIQUE,
        orders TEXT NOT NULL,
        watermark TEXT,
        written_size INTEGER,
        written_hash TEXT,
        created_at TEXT NOT NULL
    );
    "#,
    // 3: payloads as lines of retained files (see retained.rs). A
    // snapshot's `locs` blob says where each entry's payload is, parallel to
    // its entries; `refs` lists the retained files it points into.
    // `failures.key_hash` lets an acknowledgement that carries no key text
    // clear its entity's failure.
    r#"
    CREATE TABLE retained (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    ALTER TABLE snapshots ADD COLUMN locs BLOB;
    ALTER TABLE snapshots ADD COLUMN refs TEXT NOT NULL DEFAULT '';
    ALTER TABLE failures ADD COLUMN key_hash INTEGER;
    "#,
    // 4: retained file ids are never used twice (AUTOINCREMENT), so that a
    // location left pointing at a file that is gone finds nothing rather
    // than another file's line.
    r#"
    CREATE TABLE retained_files (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    INSERT INTO retained_files (id, name, fingerprint, size, created_at)
        SELECT id, name, fingerprint, size, created_at FROM retained;
    DROP TABLE retained;
    ALTER TABLE retained_files RENAME TO retained;
    "#,
    // 5: the Magento an order was exported from (the target's base_url), so
    // that two targets on one shop never export the same order: an order
    // is known by shop and entity id, whichever target wrote it. Rows of
    // earlier versions get their target's shop at its next poll.
    r#"
    ALTER TABLE order_exports ADD COLUMN shop TEXT;
    ALTER TABLE order_export_intents ADD COLUMN shop TEXT;
    CREATE INDEX order_exports_by_shop ON order_exports (shop, order_id);
    "#,
    // 6: what operators read. Times become ISO 8601 with their offset
    // (they were Unix seconds as text; see clock.rs). A failure is kept
    // once resolved, with the file and line its entity came from and
    // Magento's status; at most one per entity is open (`resolved_at`
    // NULL). A file records its mode, when it finished, where it went and
    // its counts per target. `runs` was never written.
    r#"
    UPDATE files SET first_seen = CASE WHEN first_seen GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', CAST(first_seen AS INTEGER), 'unixepoch') ELSE first_seen END, updated_at = CASE WHEN updated_at GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', CAST(updated_at AS INTEGER), 'unixepoch') ELSE updated_at END;
    ALTER TABLE files ADD COLUMN finished_at TEXT;
    ALTER TABLE files ADD COLUMN place TEXT;
    CREATE INDEX files_by_first_seen ON files (first_seen);
    CREATE TABLE file_targets (
        file_id INTEGER NOT NULL,
        target TEXT NOT NULL,
        sent INTEGER NOT NULL,
        unchanged INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        PRIMARY KEY (file_id, target)
    );
    UPDATE applied SET applied_at = CASE WHEN applied_at GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', CAST(applied_at AS INTEGER), 'unixepoch') ELSE applied_at END;
    UPDATE snapshots SET updated_at = CASE WHEN updated_at GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', CAST(updated_at AS INTEGER), 'unixepoch') ELSE updated_at END;
    UPDATE watermarks SET updated_at = CASE WHEN updated_at GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', CAST(updated_at AS INTEGER), 'unixepoch') ELSE updated_at END;
    UPDATE retained SET created_at = CASE WHEN created_at GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', CAST(created_at AS INTEGER), 'unixepoch') ELSE created_at END;
    UPDATE order_exports SET exported_at = CASE WHEN exported_at GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', CAST(exported_at AS INTEGER), 'unixepoch') ELSE exported_at END;
    UPDATE order_export_intents SET created_at = CASE WHEN created_at GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', CAST(created_at AS INTEGER), 'unixepoch') ELSE created_at END;
    CREATE TABLE failures_kept (
        id INTEGER PRIMARY KEY,
        target TEXT NOT NULL,
        flow TEXT NOT NULL,
        key TEXT NOT NULL,
        key_hash INTEGER,
        file_id INTEGER,
        line INTEGER,
        status INTEGER,
        error TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        first_attempt TEXT NOT NULL,
        last_attempt TEXT NOT NULL,
        next_try TEXT,
        resolved_at TEXT
    );
    INSERT INTO failures_kept (target, flow, key, key_hash, status, error, attempts,
            first_attempt, last_attempt, next_try)
        SELECT target, flow, key, key_hash,
            CASE WHEN last_error GLOB '[1-5][0-9][0-9] *' THEN CAST(substr(last_error, 1, 3) AS INTEGER) END,
            last_error, attempts, CASE WHEN updated_at GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', CAST(updated_at AS INTEGER), 'unixepoch') ELSE updated_at END, CASE WHEN updated_at GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', CAST(updated_at AS INTEGER), 'unixepoch') ELSE updated_at END, CASE WHEN next_try GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', CAST(next_try AS INTEGER), 'unixepoch') ELSE next_try END
        FROM failures;
    DROP TABLE failures;
    ALTER TABLE failures_kept RENAME TO failures;
    CREATE UNIQUE INDEX failures_open ON failures (target, flow, key) WHERE resolved_at IS NULL;
    CREATE INDEX failures_by_file ON failures (file_id) WHERE resolved_at IS NULL;
    CREATE INDEX failures_by_key ON failures (flow, key);
    DROP TABLE runs;
    "#,
];
