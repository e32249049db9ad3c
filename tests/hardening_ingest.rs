//! Odd files among the mail sources: symbolic links, dangling links and
//! FIFOs. Each is read or listed as skipped with its path; none is dropped
//! without a word and none makes ingest hang.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use dealsignal::ingest::{read_sources, IngestOptions};

const MAIL: &str = "From: Lars Holm <lars@nordkraft.example>\r\n\
To: Anna Berg <anna@brightloop.example>\r\n\
Subject: Budget\r\n\
Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n\
Message-ID: <budget-1@nordkraft.example>\r\n\
\r\n\
The budget is approved.\r\n";

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

#[test]
fn symlinked_mail_file_and_folder_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("archive");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(real.join("one.eml"), MAIL).unwrap();
    let sources = dir.path().join("sources");
    std::fs::create_dir(&sources).unwrap();
    symlink(real.join("one.eml"), sources.join("linked.eml")).unwrap();

    let report = read_sources(&[sources.clone()], &IngestOptions::default()).unwrap();
    assert_eq!(report.messages.len(), 1, "skipped: {:?}", report.skipped);

    std::fs::remove_file(sources.join("linked.eml")).unwrap();
    symlink(&real, sources.join("linked-folder")).unwrap();
    let report = read_sources(&[sources], &IngestOptions::default()).unwrap();
    assert_eq!(report.messages.len(), 1, "skipped: {:?}", report.skipped);
}

#[test]
fn dangling_link_and_fifo_in_a_folder_are_listed_as_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.eml"), MAIL).unwrap();
    symlink(dir.path().join("gone.eml"), dir.path().join("dangling.eml")).unwrap();
    mkfifo(&dir.path().join("pipe.mbox"));

    let report = read_sources(&[dir.path().to_path_buf()], &IngestOptions::default()).unwrap();

    assert_eq!(report.messages.len(), 1);
    let mut skipped: Vec<String> = report
        .skipped
        .iter()
        .map(|s| s.source.path.clone())
        .collect();
    skipped.sort();
    assert_eq!(skipped.len(), 2, "{:?}", report.skipped);
    assert!(skipped[0].ends_with("dangling.eml"), "{skipped:?}");
    assert!(skipped[1].ends_with("pipe.mbox"), "{skipped:?}");
}

#[test]
fn fifo_given_as_a_source_is_listed_as_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("inbox.mbox");
    mkfifo(&fifo);

    let report = read_sources(&[fifo], &IngestOptions::default()).unwrap();

    assert!(report.messages.is_empty());
    assert_eq!(report.skipped.len(), 1, "{:?}", report.skipped);
    assert!(report.skipped[0].source.path.ends_with("inbox.mbox"));
    assert!(
        report.skipped[0].reason.contains("not a regular file"),
        "{:?}",
        report.skipped
    );
}

#[test]
fn link_loop_is_listed_as_skipped_and_other_mail_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.eml"), MAIL).unwrap();
    symlink(dir.path(), dir.path().join("loop")).unwrap();

    let report = read_sources(&[dir.path().to_path_buf()], &IngestOptions::default()).unwrap();

    assert_eq!(report.messages.len(), 1);
    assert_eq!(report.skipped.len(), 1, "{:?}", report.skipped);
    assert!(
        report.skipped[0].source.path.ends_with("loop"),
        "{:?}",
        report.skipped
    );
}
