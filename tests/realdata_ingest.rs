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
        ..IngestOptions::default()
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

/// Every mail corpus the ingest issue lists: each file under it is either
/// recorded as read (in the ledger) or skipped with a one-line reason, and
/// messages + skipped adds up per corpus.
#[test]
fn every_mail_corpus_file_is_read_or_rejected_with_a_reason() {
    let corpora = [
        "apache_ponymail_mbox",
        "notmuch_corpora",
        "enron_berkeley_categories/maildir_standard",
        "sisimai_bounces",
        "stalwart_mail_parser",
        "zbateson_mail_mime_parser",
        "ruby_mail_fixtures",
        "mimekit",
        "nodemailer_mailparser",
        "perceval_mbox",
    ];
    for corpus in corpora {
        let dir = realdata(corpus);
        let report = ingest(&dir, "example.com");
        let mut accounted: std::collections::HashSet<String> =
            report.ledger.iter().map(|f| f.path.clone()).collect();
        accounted.extend(report.skipped.iter().map(|s| s.source.path.clone()));
        let files: Vec<String> = walkdir::WalkDir::new(&dir)
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                e.depth() == 0 || !name.starts_with('.') || e.path().join("cur").is_dir()
            })
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.path().display().to_string())
            .collect();
        let missing: Vec<&String> = files.iter().filter(|f| !accounted.contains(*f)).collect();
        let auto = report.messages.iter().filter(|m| m.auto).count();
        let attachments: usize = report.messages.iter().map(|m| m.attachments.len()).sum();
        eprintln!(
            "COUNTS {corpus}: files {}, messages {}, skipped {}, auto {auto}, attachments {attachments}",
            files.len(),
            report.messages.len(),
            report.skipped.len()
        );
        assert!(
            missing.is_empty(),
            "{corpus}: files neither read nor skipped: {missing:?}"
        );
        assert!(report
            .skipped
            .iter()
            .all(|s| !s.reason.is_empty() && !s.reason.contains('\n')));
    }
}

/// Talon's reply fixtures as tests of the cleaner: the plain-text replies
/// (expected text in *_reply_text, else "Hello") and the HTML replies
/// (expected "Hi. I am fine. Thanks, Alex", whitespace ignored).
#[test]
fn talon_reply_fixtures_pass_the_cleaner() {
    use dealsignal::ingest::{html_to_text, new_text, parse_message};
    let base = realdata("talon_fixtures/fixtures");
    let squash = |s: &str| s.split_whitespace().collect::<String>();
    let (mut passed, mut total) = (0, 0);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(base.join("standard_replies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    entries.sort();
    for path in entries {
        total += 1;
        let raw = std::fs::read(&path).unwrap();
        let source = dealsignal::domain::SourceRef {
            path: path.display().to_string(),
            offset: None,
        };
        let got = parse_message(&raw, source)
            .map(|m| m.new_text)
            .unwrap_or_default();
        let expected_path = path.with_file_name(format!(
            "{}_reply_text",
            path.file_stem().unwrap().to_string_lossy()
        ));
        let expected = std::fs::read_to_string(&expected_path)
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "Hello".to_string());
        // Talon keeps signatures; we cut them, so a prefix match counts.
        let ok = squash(&got) == squash(&expected)
            || squash(&expected).starts_with(&squash(&got)) && !got.is_empty();
        passed += usize::from(ok);
        if !ok {
            eprintln!(
                "TALON FAIL {}: got {got:?}, want {expected:?}",
                path.display()
            );
        }
    }
    let mut html: Vec<PathBuf> = std::fs::read_dir(base.join("html_replies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    html.sort();
    for path in html {
        total += 1;
        let text = html_to_text(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        let got = new_text(&text);
        let ok = squash(&got) == squash("Hi. I am fine.\n\nThanks,\nAlex");
        passed += usize::from(ok);
        if !ok {
            eprintln!("TALON FAIL {}: got {got:?}", path.display());
        }
    }
    eprintln!("TALON passed {passed} of {total}");
    assert!(
        passed * 2 >= total,
        "only {passed} of {total} talon cases pass"
    );
}
