#![cfg(feature = "realdata")]
//! The ingest stage on real third-party mail (/work/shared/realdata): the
//! Enron Maildir and the Apache Pony Mail mbox archives. Every message must
//! be either read or listed as skipped, and nothing may panic.

use std::path::{Path, PathBuf};
use std::time::Instant;

use dealsignal::ingest::{read_sources, IngestOptions, IngestReport};

const REALDATA: &str = "/work/shared/realdata";

fn realdata(rel: &str) -> PathBuf {
    let path = Path::new(REALDATA).join(rel);
    assert!(
        path.is_dir(),
        "real data folder {} is missing; these tests need /work/shared/realdata",
        path.display()
    );
    path
}

fn ingest(path: &Path, internal: &str) -> IngestReport {
    let opts = IngestOptions {
        internal_domains: vec![internal.to_string()],
    };
    let started = Instant::now();
    let paths = [path.to_path_buf()];
    let report = std::panic::catch_unwind(|| read_sources(&paths, &opts))
        .unwrap_or_else(|_| panic!("read_sources panicked on {}", path.display()))
        .unwrap_or_else(|e| panic!("read_sources failed on {}: {e}", path.display()));
    let duplicates = report
        .skipped
        .iter()
        .filter(|s| s.reason.starts_with("duplicate"))
        .count();
    eprintln!(
        "{}: {} messages, {} skipped ({} duplicates), {} files, {} bytes, {:.2?}",
        path.display(),
        report.messages.len(),
        report.skipped.len(),
        duplicates,
        report.files,
        report.bytes,
        started.elapsed()
    );
    for skipped in report
        .skipped
        .iter()
        .filter(|s| !s.reason.starts_with("duplicate"))
    {
        eprintln!("  skipped {}: {}", skipped.source, skipped.reason);
    }
    report
}

/// Counts mbox messages the plain way, apart from the ingest code: a line
/// starting with "From " at file start or after a blank line.
fn count_mbox_messages(dir: &Path) -> usize {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let mut prev_blank = true;
        for line in data.split(|&b| b == b'\n') {
            if prev_blank && line.starts_with(b"From ") {
                total += 1;
            }
            prev_blank = line.is_empty() || line == b"\r";
        }
    }
    total
}

#[test]
fn enron_maildir_accounts_for_all_1702_messages() {
    let report = ingest(
        &realdata("enron_berkeley_categories/maildir_standard"),
        "enron.com",
    );
    assert_eq!(report.messages.len() + report.skipped.len(), 1702);
    assert!(
        report.messages.len() > 1600,
        "most Enron mail should be readable"
    );
    let dated = report.messages.iter().filter(|m| m.date.is_some()).count();
    assert!(dated * 100 >= report.messages.len() * 99, "{dated} dated");
    assert!(report.messages.iter().all(|m| !m.id.is_empty()));
}

#[test]
fn ponymail_mbox_archives_account_for_every_message() {
    let corpus = realdata("apache_ponymail_mbox/corpus");
    let expected = count_mbox_messages(&corpus);
    eprintln!("independent count of ponymail mbox messages: {expected}");

    let report = ingest(&corpus, "apache.org");
    assert_eq!(report.messages.len() + report.skipped.len(), expected);
    let with_offsets = report
        .messages
        .iter()
        .filter(|m| m.source.offset.is_some())
        .count();
    assert_eq!(with_offsets, report.messages.len());
    assert!(report.messages.iter().any(|m| !m.body.is_empty()));
}

/// MimeKit's test data lists where each message's separator starts; our
/// offsets must point at the same bytes.
#[test]
fn mbox_offsets_match_mimekit_reference_offsets() {
    let dir = realdata("mimekit/mbox");
    let reference = std::fs::read(dir.join("issue1189.unix-offsets.json")).unwrap();
    let reference: Vec<serde_json::Value> = serde_json::from_slice(&reference).unwrap();
    let expected: Vec<u64> = reference
        .iter()
        .map(|m| m["mboxMarkerOffset"].as_u64().expect("offset is a number"))
        .collect();

    let report = ingest(&dir.join("issue1189.mbox.txt"), "example.com");
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let offsets: Vec<u64> = report
        .messages
        .iter()
        .filter_map(|m| m.source.offset)
        .collect();
    assert!(expected.len() > 1, "reference lists several messages");
    assert_eq!(offsets, expected);
}
