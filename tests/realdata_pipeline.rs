//! The whole `run` job on real third-party mail with the real model: every
//! message is read or named as skipped, every stored message gets an
//! analysis, and a phrase taken from a source file finds that very message.
#![cfg(feature = "realdata")]

use std::path::{Path, PathBuf};
use std::process::Command;

use dealsignal::store::Store;

fn realdata(part: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/realdata")
        .join(part);
    assert!(
        path.exists(),
        "real data missing: {} (see ../shared/realdata)",
        path.display()
    );
    path
}

fn model_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/multilingual-e5-small");
    assert!(
        dir.join("e5-small-q4.bin").exists(),
        "model missing in {}: run scripts/fetch-model",
        dir.display()
    );
    dir
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
        .map(str::trim)
}

#[test]
fn run_over_real_mail_analyses_every_message_and_finds_phrases() {
    // A slice of each corpus keeps this step within a few minutes on two cores.
    let enron = realdata("enron_berkeley_categories/maildir_standard/dasovich-j");
    let ponymail = realdata("apache_ponymail_mbox/corpus/httpd-users-200606-part.mbox");
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("ws");

    let out = Command::new(env!("CARGO_BIN_EXE_dealsignal"))
        .args([
            "run",
            "--workspace",
            workspace.to_str().unwrap(),
            "--model-dir",
        ])
        .arg(model_dir())
        .arg(&enron)
        .arg(&ponymail)
        .env("DEALSIGNAL_LOG", "dealsignal=warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let enron_files: Vec<PathBuf> = walk(&enron);
    let store = Store::open(&workspace).unwrap();
    let messages = store.messages().unwrap();
    let skipped = std::fs::read_to_string(workspace.join("out/skipped.tsv")).unwrap();
    let skipped_enron = skipped.lines().filter(|l| l.contains("dasovich-j")).count();
    let stored_enron = messages
        .iter()
        .filter(|m| m.source.path.contains("dasovich-j"))
        .count();
    assert_eq!(
        stored_enron + skipped_enron,
        enron_files.len(),
        "every Enron file accounted for"
    );

    assert!(
        store.messages_without_analysis().unwrap().is_empty(),
        "all messages analysed"
    );
    let analyses = store.analyses().unwrap();
    assert_eq!(analyses.len(), messages.len());
    assert!(analyses.iter().all(|a| (-1.0..=1.0).contains(&a.sentiment)));
    let english = analyses.iter().filter(|a| a.language == "en").count();
    assert!(
        english * 10 > analyses.len() * 8,
        "mostly English: {english}/{}",
        analyses.len()
    );

    // A phrase from the body of one real file finds that file's message.
    let (file, words) = enron_files
        .iter()
        .find_map(|path| {
            let raw = std::fs::read_to_string(path).ok()?;
            let (_, body) = raw.split_once("\n\n")?;
            let words: Vec<&str> = body
                .split_whitespace()
                .filter(|w| w.len() > 4 && w.chars().all(|c| c.is_ascii_alphabetic()))
                .take(4)
                .collect();
            (words.len() == 4).then(|| (path.clone(), words.join(" ")))
        })
        .expect("some Enron mail has four plain words");
    let raw = std::fs::read_to_string(&file).unwrap();
    let wanted_id = header(&raw, "Message-ID")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_dealsignal"))
        .args([
            "search",
            "--json",
            "--workspace",
            workspace.to_str().unwrap(),
        ])
        .arg(format!("\"{words}\""))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|line| line.contains(&wanted_id));
    assert!(
        found,
        "\"{words}\" from {} should find {wanted_id}",
        file.display()
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
