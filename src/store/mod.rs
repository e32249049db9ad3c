//! The workspace's record: deals, messages, analyses, signals, scores, runs.
//!
//! Every stage reads its input from and writes its output to a [`Store`]:
//! ingest inserts deals and messages, the NLP stage asks for messages
//! without an analysis and saves analyses (and caches sentence embeddings so
//! reruns skip the encoder), the predictor saves win probabilities per run.
//!
//! A workspace is a folder holding `dealsignal.sqlite` (this module) and
//! `index/` (the [`crate::search`] index). The database runs in WAL mode with
//! foreign keys on; every write call is one transaction, so a crash leaves
//! either the whole batch or none of it.

mod files;
mod nightly;
mod schema;

pub use files::FileRecord;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::de::DeserializeOwned;

use crate::domain::{
    Analysis, Deal, Direction, Message, MessageKind, Outcome, Signal, SignalKind, SourceRef,
    WinProbability,
};
use crate::error::{Error, Result};

pub use nightly::{NightlyJob, StoredModel};

/// The database file inside a workspace.
pub const DB_FILE: &str = "dealsignal.sqlite";

/// The search index folder inside a workspace.
pub const INDEX_DIR: &str = "index";

/// How long a write waits for another process holding the database (a
/// `search` while `run` writes) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Switches the database to WAL and returns the journal mode it ended in.
/// SQLite answers "database is locked" at once, without waiting, when two
/// processes switch a new file together, so this waits and retries itself.
fn wal_mode(conn: &Connection) -> rusqlite::Result<String> {
    let started = std::time::Instant::now();
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            result => return result,
        }
    }
}

/// An open workspace database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the workspace's database, creating the folder, the file and the
    /// schema the first time and migrating an older schema forward.
    pub fn open(workspace: &Path) -> Result<Store> {
        if workspace.exists() && !workspace.is_dir() {
            return Err(Error::bad_input(workspace, "workspace is not a folder"));
        }
        std::fs::create_dir_all(workspace).map_err(|e| Error::io(workspace, e))?;
        let path = workspace.join(DB_FILE);
        let cannot = |e: rusqlite::Error| Error::bad_input(&path, format!("cannot open: {e}"));

        let conn = Connection::open(&path).map_err(cannot)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(cannot)?;
        let mode = wal_mode(&conn).map_err(cannot)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "database is not in WAL mode");
        }
        // WAL with NORMAL sync still never corrupts; it may lose the last
        // commits on power loss, which a rerun recomputes.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(cannot)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(cannot)?;

        let mut store = Store { conn, path };
        store.migrate()?;
        Ok(store)
    }

    /// Where a workspace keeps its search index, so callers need not know
    /// the layout.
    pub fn index_dir(workspace: &Path) -> PathBuf {
        workspace.join(INDEX_DIR)
    }

    /// The database file, for messages that point the user at it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))?;
        let known = schema::MIGRATIONS.len() as i64;
        if version > known {
            return Err(Error::bad_input(
                &self.path,
                format!(
                    "schema version {version} is newer than this dealsignal knows \
                     ({known}); use a newer dealsignal"
                ),
            ));
        }
        for (index, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            let target = index as i64 + 1;
            // Two runs opening a new workspace at once both saw version 0;
            // taking the write lock first and reading the version again
            // lets the second skip the step the first has applied.
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let current: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
            if current >= target {
                continue;
            }
            tx.execute_batch(sql)
                .and_then(|_| tx.pragma_update(None, "user_version", target))
                .map_err(|e| {
                    Error::bad_input(&self.path, format!("migration to version {target}: {e}"))
                })?;
            tx.commit()?;
            tracing::info!(path = %self.path.display(), version = target, "migrated store");
        }
        Ok(())
    }

    /// Inserts new deals and overwrites known ones: the CRM export is the
    /// truth about a deal's stage and outcome at the time it was taken.
    pub fn upsert_deals(&mut self, deals: &[Deal]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO deals (id, name, account, contact_domains, owner, stage, amount,
                                    created, close_date, outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (id) DO UPDATE SET
                    name = excluded.name, account = excluded.account,
                    contact_domains = excluded.contact_domains, owner = excluded.owner,
                    stage = excluded.stage, amount = excluded.amount,
                    created = excluded.created, close_date = excluded.close_date,
                    outcome = excluded.outcome",
            )?;
            for deal in deals {
                insert
                    .execute(params![
                        deal.id,
                        deal.name,
                        deal.account,
                        to_json(&deal.contact_domains),
                        deal.owner,
                        deal.stage,
                        deal.amount,
                        deal.created.map(day_text),
                        deal.close_date.map(day_text),
                        deal.outcome.as_str(),
                    ])
                    .map_err(|e| record_error(&self.path, format!("deal {}", deal.id), e))?;
            }
        }
        tx.commit()?;
        tracing::info!(deals = deals.len(), "saved deals");
        Ok(())
    }

    /// All deals, by id.
    pub fn deals(&self) -> Result<Vec<Deal>> {
        let mut select = self.conn.prepare_cached(
            "SELECT id, name, account, contact_domains, owner, stage, amount, created,
                    close_date, outcome
             FROM deals ORDER BY id",
        )?;
        let rows = select.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                Deal {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    account: row.get(2)?,
                    contact_domains: Vec::new(),
                    owner: row.get(4)?,
                    stage: row.get(5)?,
                    amount: row.get(6)?,
                    created: None,
                    close_date: None,
                    outcome: Outcome::Open,
                },
                row.get::<_, String>(3)?,
                row.get::<_, Option<String>>(7)?,
                row.get::<_, Option<String>>(8)?,
                row.get::<_, String>(9)?,
            ))
        })?;

        let mut deals = Vec::new();
        for row in rows {
            let (id, mut deal, domains, created, close_date, outcome) = row?;
            let record = format!("deal {id}");
            deal.contact_domains =
                from_json(&domains).map_err(|e| record_error(&self.path, &record, e))?;
            deal.created = parse_day(created).map_err(|e| record_error(&self.path, &record, e))?;
            deal.close_date =
                parse_day(close_date).map_err(|e| record_error(&self.path, &record, e))?;
            deal.outcome =
                parse_name(&outcome).map_err(|e| record_error(&self.path, &record, e))?;
            deals.push(deal);
        }
        Ok(deals)
    }

    /// Inserts messages not seen before (by Message.id); returns how many were new.
    ///
    /// A message already stored is left as it was, so that its analysis
    /// stays valid; re-reading a mailbox is therefore cheap and harmless.
    pub fn insert_messages(&mut self, messages: &[Message]) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let new = insert_messages_in(&tx, &self.path, messages)?;
        tx.commit()?;
        tracing::info!(messages = messages.len(), new, "saved messages");
        Ok(new)
    }

    /// All messages in the order they were first stored.
    pub fn messages(&self) -> Result<Vec<Message>> {
        self.select_messages("")
    }

    /// The messages the NLP stage has not seen yet, oldest stored first.
    pub fn messages_without_analysis(&self) -> Result<Vec<Message>> {
        self.select_messages(
            "WHERE NOT EXISTS (SELECT 1 FROM analyses a WHERE a.message_id = m.id)",
        )
    }

    fn select_messages(&self, filter: &str) -> Result<Vec<Message>> {
        let sql = format!(
            "SELECT id, kind, source_path, source_offset, date, from_addr, from_name, to_addrs,
                    cc_addrs, subject, body, new_text, in_reply_to, refs, deal_id, direction,
                    attachments, thread_id, auto
             FROM messages m {filter} ORDER BY m.rowid"
        );
        let mut select = self.conn.prepare_cached(&sql)?;
        let rows = select.query_map([], MessageRow::read)?;
        let mut messages = Vec::new();
        for row in rows {
            messages.push(self.message_from(row?)?);
        }
        Ok(messages)
    }

    fn message_from(&self, row: MessageRow) -> Result<Message> {
        let record = format!("message {}", row.id);
        let bad = |e: String| record_error(&self.path, &record, e);
        Ok(Message {
            kind: parse_name::<MessageKind>(&row.kind).map_err(bad)?,
            source: SourceRef {
                path: row.source_path,
                offset: row.source_offset.map(|o| o as u64),
            },
            date: parse_time(row.date).map_err(bad)?,
            from: row.from_addr,
            from_name: row.from_name,
            to: from_json(&row.to_addrs).map_err(bad)?,
            cc: from_json(&row.cc_addrs).map_err(bad)?,
            subject: row.subject,
            body: row.body,
            new_text: row.new_text,
            in_reply_to: row.in_reply_to,
            references: from_json(&row.refs).map_err(bad)?,
            deal_id: row.deal_id,
            direction: parse_name::<Direction>(&row.direction).map_err(bad)?,
            attachments: from_json(&row.attachments).map_err(bad)?,
            thread_id: row.thread_id,
            auto: row.auto,
            id: row.id,
        })
    }

    /// Saves analyses and their signals, replacing earlier ones for the same
    /// messages (a rerun with a better model overwrites, never adds).
    pub fn save_analyses(&mut self, analyses: &[Analysis]) -> Result<()> {
        let tx = self.conn.transaction()?;
        let mut signals = 0;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO analyses (message_id, language, sentiment) VALUES (?1, ?2, ?3)
                 ON CONFLICT (message_id) DO UPDATE SET
                    language = excluded.language, sentiment = excluded.sentiment",
            )?;
            let mut clear = tx.prepare_cached("DELETE FROM signals WHERE message_id = ?1")?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO signals (message_id, position, kind, sentence, score, tracker)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for analysis in analyses {
                let id = &analysis.message_id;
                let record = format!("analysis of message {id}");
                upsert
                    .execute(params![id, analysis.language, analysis.sentiment])
                    .map_err(|e| match e.sqlite_error_code() {
                        Some(rusqlite::ErrorCode::ConstraintViolation) => {
                            record_error(&self.path, &record, "no such message in the store")
                        }
                        _ => record_error(&self.path, &record, e),
                    })?;
                clear.execute([id])?;
                for (position, signal) in analysis.signals.iter().enumerate() {
                    if &signal.message_id != id {
                        return Err(record_error(
                            &self.path,
                            &record,
                            format!("holds a signal of message {}", signal.message_id),
                        ));
                    }
                    insert
                        .execute(params![
                            id,
                            position as i64,
                            signal.kind.as_str(),
                            signal.sentence,
                            signal.score,
                            signal.tracker,
                        ])
                        .map_err(|e| record_error(&self.path, &record, e))?;
                    signals += 1;
                }
            }
        }
        tx.commit()?;
        tracing::info!(analyses = analyses.len(), signals, "saved analyses");
        Ok(())
    }

    /// Every analysis with its signals, in the order the messages were stored.
    pub fn analyses(&self) -> Result<Vec<Analysis>> {
        let mut signals: HashMap<String, Vec<Signal>> = HashMap::new();
        {
            let mut select = self.conn.prepare_cached(
                "SELECT message_id, kind, sentence, score, tracker FROM signals
                 ORDER BY message_id, position",
            )?;
            let rows = select.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, f64>(3)?,
                    row.get::<_, Option<String>>(4)?,
                ))
            })?;
            for row in rows {
                let (message_id, kind, sentence, score, tracker) = row?;
                let kind = SignalKind::parse(&kind).ok_or_else(|| {
                    record_error(
                        &self.path,
                        format!("signal of message {message_id}"),
                        format!("unknown signal kind {kind:?}"),
                    )
                })?;
                signals.entry(message_id.clone()).or_default().push(Signal {
                    message_id,
                    kind,
                    sentence,
                    score: score as f32,
                    tracker,
                });
            }
        }

        let mut select = self.conn.prepare_cached(
            "SELECT a.message_id, a.language, a.sentiment
             FROM analyses a JOIN messages m ON m.id = a.message_id
             ORDER BY m.rowid",
        )?;
        let rows = select.query_map([], |row| {
            Ok(Analysis {
                message_id: row.get(0)?,
                language: row.get(1)?,
                sentiment: row.get::<_, f64>(2)? as f32,
                signals: Vec::new(),
            })
        })?;
        let mut analyses = Vec::new();
        for row in rows {
            let mut analysis = row?;
            analysis.signals = signals.remove(&analysis.message_id).unwrap_or_default();
            analyses.push(analysis);
        }
        Ok(analyses)
    }

    /// Records the win probabilities one run computed. Scores of older runs
    /// stay, so a deal's probability can be followed over time.
    pub fn save_scores(&mut self, run_id: i64, scores: &[WinProbability]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO scores (run_id, deal_id, probability, factors)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for score in scores {
                insert
                    .execute(params![
                        run_id,
                        score.deal_id,
                        score.probability,
                        to_json(&score.factors)
                    ])
                    .map_err(|e| {
                        let record = format!("score of deal {} in run {run_id}", score.deal_id);
                        match e.sqlite_error_code() {
                            Some(rusqlite::ErrorCode::ConstraintViolation) => {
                                record_error(&self.path, record, "no such run")
                            }
                            _ => record_error(&self.path, record, e),
                        }
                    })?;
            }
        }
        tx.commit()?;
        tracing::info!(run_id, scores = scores.len(), "saved scores");
        Ok(())
    }

    /// Each deal's probability from the most recent run that scored it, by
    /// deal id. Per deal rather than per run, so a run that rescored only
    /// some deals does not hide the others.
    pub fn latest_scores(&self) -> Result<Vec<WinProbability>> {
        self.scores_before_run(i64::MAX)
    }

    /// Starts the record of one command run; its id ties scores to the run.
    pub fn start_run(&mut self, command: &str) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO runs (command, started_at) VALUES (?1, ?2)",
            params![command, time_text(Utc::now())],
        )?;
        let id = self.conn.last_insert_rowid();
        tracing::debug!(run_id = id, command, "started run");
        Ok(id)
    }

    /// Closes a run with what it did (counts, timings) as JSON.
    pub fn finish_run(&mut self, run_id: i64, summary: &serde_json::Value) -> Result<()> {
        let changed = self.conn.execute(
            "UPDATE runs SET finished_at = ?2, summary = ?3 WHERE id = ?1",
            params![run_id, time_text(Utc::now()), summary.to_string()],
        )?;
        if changed == 0 {
            return Err(record_error(
                &self.path,
                format!("run {run_id}"),
                "no such run",
            ));
        }
        tracing::debug!(run_id, "finished run");
        Ok(())
    }

    /// The summary a finished run left, `None` while it runs or when the id
    /// is unknown.
    pub fn run_summary(&self, run_id: i64) -> Result<Option<serde_json::Value>> {
        let text: Option<Option<String>> = self
            .conn
            .query_row("SELECT summary FROM runs WHERE id = ?1", [run_id], |row| {
                row.get(0)
            })
            .optional()?;
        match text.flatten() {
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| record_error(&self.path, format!("run {run_id}"), e)),
            None => Ok(None),
        }
    }

    /// Embedding cache by sentence hash, so reruns do not recompute.
    /// Hashes not cached are absent from the map.
    pub fn cached_embeddings(&self, hashes: &[String]) -> Result<HashMap<String, Vec<f32>>> {
        let mut select = self
            .conn
            .prepare_cached("SELECT vector FROM embeddings WHERE hash = ?1")?;
        let mut found = HashMap::new();
        for hash in hashes {
            let blob: Option<Vec<u8>> = select.query_row([hash], |row| row.get(0)).optional()?;
            if let Some(blob) = blob {
                let vector = vector_from_blob(&blob)
                    .map_err(|e| record_error(&self.path, format!("embedding {hash}"), e))?;
                found.insert(hash.clone(), vector);
            }
        }
        Ok(found)
    }

    /// Stores embeddings by sentence hash; an existing hash is overwritten.
    pub fn cache_embeddings(&mut self, items: &[(String, Vec<f32>)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO embeddings (hash, vector) VALUES (?1, ?2)",
            )?;
            for (hash, vector) in items {
                insert
                    .execute(params![hash, vector_to_blob(vector)])
                    .map_err(|e| record_error(&self.path, format!("embedding {hash}"), e))?;
            }
        }
        tx.commit()?;
        tracing::debug!(embeddings = items.len(), "cached embeddings");
        Ok(())
    }
}

/// An error about one record of the database, naming file and record.
/// Inserts messages inside a transaction the caller commits, so ingest can
/// store messages and its file ledger atomically; returns how many were new.
fn insert_messages_in(
    tx: &rusqlite::Transaction<'_>,
    path: &Path,
    messages: &[Message],
) -> Result<usize> {
    let mut new = 0;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO messages
                (id, kind, source_path, source_offset, date, from_addr, from_name,
                 to_addrs, cc_addrs, subject, body, new_text, in_reply_to, refs,
                 deal_id, direction, attachments, thread_id, auto)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19)",
        )?;
        for m in messages {
            let offset = m.source.offset.map(|o| o as i64);
            new += insert
                .execute(params![
                    m.id,
                    m.kind.as_str(),
                    m.source.path,
                    offset,
                    m.date.map(time_text),
                    m.from,
                    m.from_name,
                    to_json(&m.to),
                    to_json(&m.cc),
                    m.subject,
                    m.body,
                    m.new_text,
                    m.in_reply_to,
                    to_json(&m.references),
                    m.deal_id,
                    m.direction.as_str(),
                    to_json(&m.attachments),
                    m.thread_id,
                    m.auto,
                ])
                .map_err(|e| {
                    record_error(path, format!("message {} from {}", m.id, m.source), e)
                })?;
        }
    }
    Ok(new)
}

fn record_error(path: &Path, record: impl Into<String>, reason: impl ToString) -> Error {
    Error::BadRecord {
        path: path.to_path_buf(),
        record: record.into(),
        reason: reason.to_string(),
    }
}

/// A `messages` row as SQLite returns it, before the checks that need the
/// crate's error type.
struct MessageRow {
    id: String,
    kind: String,
    source_path: String,
    source_offset: Option<i64>,
    date: Option<String>,
    from_addr: String,
    from_name: String,
    to_addrs: String,
    cc_addrs: String,
    subject: String,
    body: String,
    new_text: String,
    in_reply_to: Option<String>,
    refs: String,
    deal_id: Option<String>,
    direction: String,
    attachments: String,
    thread_id: Option<String>,
    auto: bool,
}

impl MessageRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<MessageRow> {
        Ok(MessageRow {
            id: row.get(0)?,
            kind: row.get(1)?,
            source_path: row.get(2)?,
            source_offset: row.get(3)?,
            date: row.get(4)?,
            from_addr: row.get(5)?,
            from_name: row.get(6)?,
            to_addrs: row.get(7)?,
            cc_addrs: row.get(8)?,
            subject: row.get(9)?,
            body: row.get(10)?,
            new_text: row.get(11)?,
            in_reply_to: row.get(12)?,
            refs: row.get(13)?,
            deal_id: row.get(14)?,
            direction: row.get(15)?,
            attachments: row.get(16)?,
            thread_id: row.get(17)?,
            auto: row.get(18)?,
        })
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Vectors of strings and (string, number) pairs always serialize.
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_string())
}

fn from_json<T: DeserializeOwned>(text: &str) -> std::result::Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("bad JSON {text:?}: {e}"))
}

/// Reads an enum stored under its serde name ("email", "inbound", "won").
fn parse_name<T: DeserializeOwned>(name: &str) -> std::result::Result<T, String> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| format!("unknown value {name:?}"))
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn parse_day(text: Option<String>) -> std::result::Result<Option<NaiveDate>, String> {
    text.map(|t| {
        NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|e| format!("bad date {t:?}: {e}"))
    })
    .transpose()
}

/// RFC 3339 in UTC with a `Z`: sorts as text and keeps sub-second digits.
fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_time(text: Option<String>) -> std::result::Result<Option<DateTime<Utc>>, String> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(&t)
            .map(|time| time.with_timezone(&Utc))
            .map_err(|e| format!("bad time {t:?}: {e}"))
    })
    .transpose()
}

fn vector_to_blob(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn vector_from_blob(blob: &[u8]) -> std::result::Result<Vec<f32>, String> {
    if blob.len() % 4 != 0 {
        return Err(format!(
            "vector of {} bytes is not a whole number of f32",
            blob.len()
        ));
    }
    Ok(blob
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_survive_the_blob_round_trip_bit_for_bit() {
        let vector = vec![0.0, -1.5, f32::MIN_POSITIVE, 3.25e-7, f32::MAX];
        let blob = vector_to_blob(&vector);
        assert_eq!(blob.len(), 4 * vector.len());
        assert_eq!(vector_from_blob(&blob).unwrap(), vector);
    }

    #[test]
    fn blob_of_partial_float_is_rejected() {
        assert!(vector_from_blob(&[0, 0, 128]).is_err());
    }

    #[test]
    fn blob_is_little_endian() {
        assert_eq!(vector_to_blob(&[1.0]), vec![0x00, 0x00, 0x80, 0x3f]);
    }

    #[test]
    fn times_keep_sub_second_digits_and_read_back_equal() {
        let time = DateTime::parse_from_rfc3339("2024-02-03T04:05:06.789+02:00")
            .unwrap()
            .with_timezone(&Utc);
        let text = time_text(time);
        assert_eq!(text, "2024-02-03T02:05:06.789Z");
        assert_eq!(parse_time(Some(text)).unwrap(), Some(time));
    }

    #[test]
    fn enum_names_read_back_and_unknown_names_fail() {
        assert_eq!(parse_name::<MessageKind>("call"), Ok(MessageKind::Call));
        assert_eq!(parse_name::<Outcome>("won"), Ok(Outcome::Won));
        assert!(parse_name::<Direction>("sideways").is_err());
    }

    #[test]
    fn fresh_database_is_at_the_latest_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, schema::MIGRATIONS.len() as i64);
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
