//! The ledger of source files ingest has read (store layer, written by the
//! ingest step of `dealsignal run`).
//!
//! Each mailbox, mail file or call note read is recorded with its size,
//! modification time and content hash, and the messages it held. A rerun
//! compares the files on disk with this ledger and reads only new or
//! changed ones. The ledger rows and the messages they produced are written
//! in one transaction, so a run killed at any moment either recorded a file
//! together with its messages or recorded neither: the rerun reads again
//! exactly what was lost.

use std::collections::HashMap;

use rusqlite::params;

use super::{from_json, insert_messages_in, record_error, to_json, Store};
use crate::domain::Message;
use crate::error::Result;

/// What the ledger knows about one source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub path: String,
    pub size: u64,
    /// Modification time in nanoseconds since 1970; the cheap first check.
    pub mtime_ns: i64,
    /// Hex SHA-256 of the whole file; the check that decides when the
    /// size or time changed (a `touch`, a copy) but the content did not.
    pub sha256: String,
    /// The ids of the messages read from the file, duplicates included.
    pub message_ids: Vec<String>,
}

impl Store {
    /// Every file the ledger knows, by path.
    pub fn file_records(&self) -> Result<HashMap<String, FileRecord>> {
        let mut select = self
            .conn
            .prepare_cached("SELECT path, size, mtime_ns, sha256, message_ids FROM files")?;
        let rows = select.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
            ))
        })?;
        let mut files = HashMap::new();
        for row in rows {
            let (path, size, mtime_ns, sha256, ids) = row?;
            let message_ids =
                from_json(&ids).map_err(|e| record_error(&self.path, format!("file {path}"), e))?;
            let record = FileRecord {
                path: path.clone(),
                size: size as u64,
                mtime_ns,
                sha256,
                message_ids,
            };
            files.insert(path, record);
        }
        Ok(files)
    }

    /// Stores new messages and the ledger rows of the files they came from
    /// in one transaction; returns how many messages were new. `run_id`
    /// is the run that read the files.
    pub fn commit_ingest(
        &mut self,
        messages: &[Message],
        files: &[FileRecord],
        run_id: i64,
    ) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let new = insert_messages_in(&tx, &self.path, messages)?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO files (path, size, mtime_ns, sha256, message_ids, last_run)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (path) DO UPDATE SET size = ?2, mtime_ns = ?3, sha256 = ?4,
                     message_ids = ?5, last_run = ?6",
            )?;
            for file in files {
                upsert
                    .execute(params![
                        file.path,
                        file.size as i64,
                        file.mtime_ns,
                        file.sha256,
                        to_json(&file.message_ids),
                        run_id,
                    ])
                    .map_err(|e| record_error(&self.path, format!("file {}", file.path), e))?;
            }
        }
        tx.commit()?;
        tracing::info!(
            messages = messages.len(),
            new,
            files = files.len(),
            "saved messages and file ledger"
        );
        Ok(new)
    }

    /// Gives every message without a deal the deal of its thread, when
    /// another message of the thread has one (the smallest deal id when
    /// they disagree, so the answer never depends on reading order).
    /// Running it after every ingest makes the result the same whether a
    /// thread arrived in one run or over several.
    pub fn attribute_threads(&mut self) -> Result<usize> {
        let changed = self.conn.execute(
            "UPDATE messages SET deal_id = (
                 SELECT MIN(o.deal_id) FROM messages o
                 WHERE o.thread_id = messages.thread_id AND o.deal_id IS NOT NULL)
             WHERE deal_id IS NULL AND thread_id IS NOT NULL AND EXISTS (
                 SELECT 1 FROM messages o
                 WHERE o.thread_id = messages.thread_id AND o.deal_id IS NOT NULL)",
            [],
        )?;
        tracing::info!(messages = changed, "attributed by thread");
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Direction, MessageKind, SourceRef};

    fn message(id: &str, thread: &str, deal: Option<&str>) -> Message {
        Message {
            id: id.into(),
            kind: MessageKind::Email,
            source: SourceRef {
                path: "a.mbox".into(),
                offset: Some(0),
            },
            date: None,
            from: "a@x.example".into(),
            from_name: String::new(),
            to: vec![],
            cc: vec![],
            subject: String::new(),
            body: String::new(),
            new_text: String::new(),
            in_reply_to: None,
            references: vec![],
            deal_id: deal.map(str::to_string),
            direction: Direction::Inbound,
            attachments: vec!["offer.pdf (application/pdf)".into()],
            thread_id: Some(thread.into()),
            auto: true,
        }
    }

    fn record(path: &str, ids: &[&str]) -> FileRecord {
        FileRecord {
            path: path.into(),
            size: 10,
            mtime_ns: 5,
            sha256: "ab".into(),
            message_ids: ids.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn ledger_rows_and_messages_are_stored_together_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let new = store
            .commit_ingest(&[message("m1", "t", None)], &[record("a.mbox", &["m1"])], 1)
            .unwrap();
        assert_eq!(new, 1);
        let files = store.file_records().unwrap();
        assert_eq!(files["a.mbox"], record("a.mbox", &["m1"]));
        let stored = store.messages().unwrap();
        assert_eq!(stored, vec![message("m1", "t", None)]);

        let mut changed = record("a.mbox", &["m1", "m2"]);
        changed.size = 20;
        store.commit_ingest(&[], &[changed.clone()], 2).unwrap();
        assert_eq!(store.file_records().unwrap()["a.mbox"], changed);
    }

    #[test]
    fn thread_mates_without_deal_get_the_smallest_deal_of_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let msgs = [
            message("m1", "t", Some("D-2")),
            message("m2", "t", None),
            message("m3", "t", Some("D-1")),
            message("m4", "other", None),
        ];
        store.commit_ingest(&msgs, &[], 1).unwrap();
        assert_eq!(store.attribute_threads().unwrap(), 1);
        let deals: Vec<_> = store
            .messages()
            .unwrap()
            .into_iter()
            .map(|m| m.deal_id)
            .collect();
        let want = [Some("D-2"), Some("D-1"), Some("D-1"), None];
        assert_eq!(deals, want.map(|d| d.map(str::to_string)));
    }
}

impl Store {
    /// Forgets the ledger's files under `roots` that are gone from disk,
    /// with the messages that only they held (their analyses and signals go
    /// with them). Returns the ids of the messages removed, so that the
    /// search index can drop them too. Files outside `roots` are left alone:
    /// a run over one folder says nothing about another.
    pub fn forget_missing_files(&mut self, roots: &[std::path::PathBuf]) -> Result<Vec<String>> {
        let records = self.file_records()?;
        let under_roots = |path: &str| {
            roots
                .iter()
                .any(|root| std::path::Path::new(path).starts_with(root))
        };
        let (gone, kept): (Vec<&FileRecord>, Vec<&FileRecord>) = records
            .values()
            .partition(|r| under_roots(&r.path) && !std::path::Path::new(&r.path).exists());
        if gone.is_empty() {
            return Ok(Vec::new());
        }
        let still_held: std::collections::HashSet<&str> = kept
            .iter()
            .flat_map(|r| r.message_ids.iter().map(String::as_str))
            .collect();
        let mut removed: Vec<String> = gone
            .iter()
            .flat_map(|r| r.message_ids.iter())
            .filter(|id| !still_held.contains(id.as_str()))
            .cloned()
            .collect();
        removed.sort();
        removed.dedup();

        let tx = self.conn.transaction()?;
        for id in &removed {
            tx.execute("DELETE FROM messages WHERE id = ?1", params![id])?;
        }
        for record in &gone {
            tx.execute("DELETE FROM files WHERE path = ?1", params![record.path])?;
        }
        tx.commit()?;
        tracing::info!(
            files = gone.len(),
            messages = removed.len(),
            "forgot deleted sources"
        );
        Ok(removed)
    }
}
