//! End-to-end: `dealsignal run` killed with SIGKILL at several moments and
//! rerun leaves the same messages and analyses as one clean run, and a
//! rerun over unchanged sources reads no file again.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use dealsignal::domain::{Analysis, Message};
use dealsignal::store::Store;

const WORDS: [&str; 16] = [
    "budget",
    "approved",
    "contract",
    "pricing",
    "delay",
    "demo",
    "board",
    "signature",
    "discount",
    "competitor",
    "timeline",
    "renewal",
    "legal",
    "review",
    "meeting",
    "quarter",
];

/// Writes `files` mbox files of `per_file` distinct mails each.
fn write_corpus(dir: &Path, files: usize, per_file: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for f in 0..files {
        let mut mbox = String::new();
        for m in 0..per_file {
            let n = f * per_file + m;
            let sentences: Vec<String> = (0..6)
                .map(|s| {
                    let w = |k: usize| WORDS[(n * 7 + s * 3 + k * 5) % WORDS.len()];
                    format!("The {} {} is {} number {n}-{s}.", w(0), w(1), w(2))
                })
                .collect();
            mbox.push_str(&format!(
                "From lars@kund{}.example Mon Mar  2 10:00:00 2026\n\
                 From: Lars <lars@kund{}.example>\nTo: anna@vendor.example\n\
                 Subject: Offer {n}\nMessage-ID: <m{n}@kund.example>\n\
                 Date: Mon, 2 Mar 2026 10:{:02}:00 +0000\n\n{}\n\n",
                f % 5,
                f % 5,
                n % 60,
                sentences.join(" ")
            ));
        }
        std::fs::write(dir.join(format!("box{f:03}.mbox")), mbox).unwrap();
    }
}

fn command(workspace: &Path, model: &Path, corpus: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dealsignal"));
    cmd.args(["run", "--workspace"])
        .arg(workspace)
        .arg("--model-dir")
        .arg(model)
        .args([
            "--internal-domain",
            "vendor.example",
            "--as-of",
            "2026-03-20",
        ])
        .arg(corpus)
        .env("DEALSIGNAL_LOG", "dealsignal=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn run_to_end(workspace: &Path, model: &Path, corpus: &Path) -> Duration {
    let started = Instant::now();
    let status = command(workspace, model, corpus).status().unwrap();
    assert!(status.success(), "dealsignal run failed: {status}");
    started.elapsed()
}

/// The store's messages and analyses, sorted so that storage order (which
/// a crash may change) does not count.
fn contents(workspace: &Path) -> (Vec<Message>, Vec<Analysis>) {
    let store = Store::open(workspace).unwrap();
    let mut messages = store.messages().unwrap();
    messages.sort_by(|a, b| a.id.cmp(&b.id));
    let mut analyses = store.analyses().unwrap();
    analyses.sort_by(|a, b| a.message_id.cmp(&b.message_id));
    (messages, analyses)
}

#[test]
fn killed_runs_then_a_rerun_store_exactly_what_one_clean_run_stores() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    dealsignal::nlp::encoder::write_tiny_model(&model, 7).unwrap();
    let corpus = dir.path().join("corpus");
    write_corpus(&corpus, 30, 40);

    let clean = dir.path().join("clean");
    let clean_time = run_to_end(&clean, &model, &corpus);
    let want = contents(&clean);
    assert_eq!(want.0.len(), 1200);

    // Kill at moments spread over the clean run's duration: during start-up,
    // ingest, analysis and the later stages.
    let crashed = dir.path().join("crashed");
    let mut killed_while_running = 0;
    for fraction in [0.05, 0.2, 0.35, 0.5, 0.65, 0.8] {
        let mut child = command(&crashed, &model, &corpus).spawn().unwrap();
        sleep(clean_time.mul_f64(fraction));
        if child.try_wait().unwrap().is_none() {
            killed_while_running += 1;
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
    }
    // Later runs start from what earlier ones stored and finish sooner, so
    // not every kill lands on a live process; the first ones always do.
    assert!(
        killed_while_running >= 2,
        "only {killed_while_running} kills hit a running process"
    );
    run_to_end(&crashed, &model, &corpus);

    let got = contents(&crashed);
    assert_eq!(got.0.len(), want.0.len(), "message count differs");
    assert_eq!(got.0, want.0, "messages differ");
    assert_eq!(got.1, want.1, "analyses differ");
}

#[test]
fn rerun_over_unchanged_sources_reads_no_file_and_a_touched_file_is_hashed_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    dealsignal::nlp::encoder::write_tiny_model(&model, 7).unwrap();
    let corpus = dir.path().join("corpus");
    write_corpus(&corpus, 3, 5);
    let ws = dir.path().join("ws");
    run_to_end(&ws, &model, &corpus);

    let store = Store::open(&ws).unwrap();
    let ledger = store.file_records().unwrap();
    assert_eq!(ledger.len(), 3);
    assert!(ledger.values().all(|f| f.message_ids.len() == 5));
    drop(store);

    // Same content, new time stamp: only the ledger's time changes.
    let first: PathBuf = corpus.join("box000.mbox");
    let data = std::fs::read(&first).unwrap();
    std::fs::write(&first, &data).unwrap();
    // A new mail appended to another file: that file is read again.
    let second = corpus.join("box001.mbox");
    let mut more = std::fs::read_to_string(&second).unwrap();
    more.push_str(
        "From x@kund9.example Mon Mar  2 10:00:00 2026\nFrom: x@kund9.example\n\
         Message-ID: <late@kund9.example>\nSubject: Late\n\nWe sign today.\n",
    );
    std::fs::write(&second, more).unwrap();
    run_to_end(&ws, &model, &corpus);

    let store = Store::open(&ws).unwrap();
    let runs: Vec<serde_json::Value> = (1..=2)
        .map(|id| store.run_summary(id).unwrap().unwrap())
        .collect();
    assert_eq!(runs[0]["files"], 3);
    assert_eq!(
        runs[1]["files"], 1,
        "only the changed file is parsed: {}",
        runs[1]
    );
    assert_eq!(runs[1]["messages_new"], 1);
    assert_eq!(store.messages().unwrap().len(), 16);
    assert_eq!(
        store.file_records().unwrap()[&second.display().to_string()]
            .message_ids
            .len(),
        6
    );
}
