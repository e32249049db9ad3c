#![cfg(feature = "realdata")]
//! The store and the search index on real mail: the 1,702 Enron messages
//! of /work/shared/realdata. Messages are built here with a minimal header
//! read (not the ingest stage), so this file tests storage and search only.
//! Timings go to stderr: `cargo test --release --features realdata
//! --test realdata_search -- --nocapture`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{TimeZone, Utc};
use dealsignal::domain::{Direction, Message, MessageKind, SourceRef};
use dealsignal::search::SearchIndex;
use dealsignal::store::Store;
use mailparse::MailHeaderMap;
use walkdir::WalkDir;

const ENRON: &str = "/work/shared/realdata/enron_berkeley_categories/maildir_standard";

fn enron_messages() -> Vec<Message> {
    let root = Path::new(ENRON);
    assert!(
        root.is_dir(),
        "real data missing: {ENRON} (see /work/shared/realdata/MANIFEST.md)"
    );
    let mut paths: Vec<PathBuf> = WalkDir::new(root)
        .into_iter()
        .map(|entry| entry.expect("walk real data").into_path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths.iter().filter_map(|path| read_message(path)).collect()
}

fn read_message(path: &Path) -> Option<Message> {
    let bytes = std::fs::read(path).expect("read real mail");
    let mail = mailparse::parse_mail(&bytes).ok()?;
    let header = |name: &str| mail.headers.get_first_value(name).unwrap_or_default();
    let from = header("From").trim().to_lowercase();
    let body = mail.get_body().unwrap_or_default();
    let date = mailparse::dateparse(&header("Date"))
        .ok()
        .and_then(|secs| Utc.timestamp_opt(secs, 0).single());
    Some(Message {
        id: header("Message-ID").trim().to_string(),
        kind: MessageKind::Email,
        source: SourceRef {
            path: path.display().to_string(),
            offset: None,
        },
        date,
        from,
        from_name: String::new(),
        to: header("To")
            .split(',')
            .map(|s| s.trim().to_lowercase())
            .collect(),
        cc: Vec::new(),
        subject: header("Subject"),
        new_text: body.clone(),
        body,
        in_reply_to: None,
        references: Vec::new(),
        deal_id: None,
        direction: Direction::Internal,
        attachments: Vec::new(),
        thread_id: None,
        auto: false,
    })
}

#[test]
fn enron_mail_is_stored_and_found_by_subject_sender_and_date() {
    let messages = enron_messages();
    assert!(
        messages.len() > 1500,
        "only {} messages read",
        messages.len()
    );
    let distinct: std::collections::HashSet<&str> =
        messages.iter().map(|m| m.id.as_str()).collect();

    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut store = Store::open(dir.path()).unwrap();
    let new = store.insert_messages(&messages).unwrap();
    eprintln!(
        "store: {} messages in {:?}",
        messages.len(),
        started.elapsed()
    );
    assert_eq!(new, distinct.len());
    assert_eq!(store.insert_messages(&messages).unwrap(), 0);

    let started = Instant::now();
    let mut index = SearchIndex::open_or_create(&Store::index_dir(dir.path())).unwrap();
    index.add_messages(&messages).unwrap();
    eprintln!(
        "index: {} messages in {:?}",
        messages.len(),
        started.elapsed()
    );
    assert_eq!(index.num_messages(), distinct.len() as u64);
    index.add_messages(&messages).unwrap();
    assert_eq!(index.num_messages(), distinct.len() as u64);

    // A subject taken from the data must find its own message.
    let target = messages
        .iter()
        .find(|m| m.subject.split_whitespace().count() >= 3 && !m.subject.contains('"'))
        .expect("a message with a subject of three words");
    let words: Vec<&str> = target
        .subject
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let query = format!("subject:\"{}\"", words.join(" "));
    let started = Instant::now();
    let hits = index.search(&query, 50).unwrap();
    eprintln!(
        "search {query:?}: {} hits in {:?}",
        hits.len(),
        started.elapsed()
    );
    assert!(
        hits.iter().any(|h| h.message_id == target.id),
        "{query} missed its message"
    );

    let hits = index.search("from:enron.com", 100).unwrap();
    assert!(!hits.is_empty());
    assert!(
        hits.iter().all(|h| h.from.ends_with("enron.com")),
        "from: leaked"
    );

    let in_2001 = messages
        .iter()
        .filter(|m| m.date.is_some_and(|d| d.format("%Y").to_string() == "2001"))
        .count();
    let hits = index.search("date:2001-01-01..2001-12-31", 5000).unwrap();
    assert_eq!(hits.len(), in_2001);
}
