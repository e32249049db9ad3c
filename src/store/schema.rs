//! The SQLite schema and its migrations.
//!
//! `PRAGMA user_version` holds how many entries of [`MIGRATIONS`] a database
//! has had applied. Opening runs the missing ones in order, each in its own
//! transaction together with the version bump, so a database is always at
//! exactly one known version. A change to the schema is a new entry at the
//! end; entries already released are never edited.

/// Each entry moves the schema from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE deals (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        account         TEXT NOT NULL,
        contact_domains TEXT NOT NULL,              -- JSON array of strings
        owner           TEXT NOT NULL,
        stage           TEXT NOT NULL,
        amount          REAL,
        created         TEXT,                       -- YYYY-MM-DD
        close_date      TEXT,                       -- YYYY-MM-DD
        outcome         TEXT NOT NULL CHECK (outcome IN ('open', 'won', 'lost'))
    );

    -- deal_id has no foreign key: mail may be ingested before the CRM
    -- export that names its deal.
    CREATE TABLE messages (
        id            TEXT PRIMARY KEY,
        kind          TEXT NOT NULL,
        source_path   TEXT NOT NULL,
        source_offset INTEGER,
        date          TEXT,                         -- RFC 3339, UTC
        from_addr     TEXT NOT NULL,
        from_name     TEXT NOT NULL,
        to_addrs      TEXT NOT NULL,                -- JSON array
        cc_addrs      TEXT NOT NULL,                -- JSON array
        subject       TEXT NOT NULL,
        body          TEXT NOT NULL,
        new_text      TEXT NOT NULL,
        in_reply_to   TEXT,
        refs          TEXT NOT NULL,                -- JSON array
        deal_id       TEXT,
        direction     TEXT NOT NULL
    );
    CREATE INDEX messages_by_deal ON messages (deal_id);

    CREATE TABLE analyses (
        message_id TEXT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
        language   TEXT NOT NULL,
        sentiment  REAL NOT NULL
    );

    CREATE TABLE signals (
        message_id TEXT NOT NULL REFERENCES analyses (message_id) ON DELETE CASCADE,
        position   INTEGER NOT NULL,                -- order within the analysis
        kind       TEXT NOT NULL,
        sentence   TEXT NOT NULL,
        score      REAL NOT NULL,
        PRIMARY KEY (message_id, position)
    );
    CREATE INDEX signals_by_kind ON signals (kind);

    CREATE TABLE runs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        command     TEXT NOT NULL,
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        summary     TEXT                            -- JSON
    );

    CREATE TABLE scores (
        run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        deal_id     TEXT NOT NULL,
        probability REAL NOT NULL,
        factors     TEXT NOT NULL,                  -- JSON [[name, contribution], ...]
        PRIMARY KEY (run_id, deal_id)
    );
    CREATE INDEX scores_by_deal ON scores (deal_id, run_id);

    CREATE TABLE embeddings (
        hash   TEXT PRIMARY KEY,
        vector BLOB NOT NULL                        -- f32 little-endian
    );
    "#,
    // 2: what ingest adds to a message (attachments, thread, machine-written
    // mail) and the ledger of source files already read, which makes a rerun
    // skip unchanged files.
    r#"
    ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]'; -- JSON array
    ALTER TABLE messages ADD COLUMN thread_id TEXT;
    ALTER TABLE messages ADD COLUMN auto INTEGER NOT NULL DEFAULT 0;       -- 0 or 1
    CREATE INDEX messages_by_thread ON messages (thread_id);

    CREATE TABLE files (
        path        TEXT PRIMARY KEY,
        size        INTEGER NOT NULL,
        mtime_ns    INTEGER NOT NULL,                -- nanoseconds since 1970
        sha256      TEXT NOT NULL,                   -- hex of the whole content
        message_ids TEXT NOT NULL,                   -- JSON array
        last_run    INTEGER                          -- runs.id of the last read
    );
    "#,
    // 3: the nightly job's resumable steps and the model registry. IF NOT
    // EXISTS keeps it safe whichever number it ends up with after a merge.
    r#"
    CREATE TABLE IF NOT EXISTS nightly_jobs (
        run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
        as_of  TEXT NOT NULL                        -- YYYY-MM-DD
    );

    CREATE TABLE IF NOT EXISTS nightly_steps (
        run_id      INTEGER NOT NULL REFERENCES nightly_jobs (run_id) ON DELETE CASCADE,
        step        TEXT NOT NULL,
        finished_at TEXT NOT NULL,                  -- RFC 3339, UTC
        detail      TEXT NOT NULL,                  -- JSON
        PRIMARY KEY (run_id, step)
    );

    CREATE TABLE IF NOT EXISTS models (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id     INTEGER NOT NULL UNIQUE REFERENCES runs (id),
        trained_at TEXT NOT NULL,                   -- RFC 3339, UTC
        kind       TEXT NOT NULL,
        data_hash  TEXT NOT NULL,                   -- sha256 of the training rows
        metrics    TEXT NOT NULL,                   -- JSON
        model      TEXT NOT NULL                    -- JSON of the WinModel
    );
    "#,
    // 4 (2 and 3 come from other branches; this entry is self-contained):
    // the name of the user's tracker behind a signal, NULL for the heads.
    r#"
    ALTER TABLE signals ADD COLUMN tracker TEXT;
    CREATE INDEX signals_by_tracker ON signals (tracker);
    "#,
];
