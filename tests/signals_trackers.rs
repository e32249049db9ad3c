//! End-to-end: a keyword tracker given to `dealsignal run` with a tiny
//! generated model finds its words in the bundled sample in every language,
//! ignoring diacritics, and each hit is stored with the tracker's name.

use std::path::{Path, PathBuf};
use std::process::Command;

use dealsignal::domain::SignalKind;
use dealsignal::store::Store;

fn sample(part: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sample")
        .join(part)
}

fn run_with_trackers(workspace: &Path, model: &Path, trackers: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_dealsignal"))
        .args(["run", "--workspace"])
        .arg(workspace)
        .arg("--model-dir")
        .arg(model)
        .arg("--trackers")
        .arg(trackers)
        .args(["--deals"])
        .arg(sample("deals.csv"))
        .args(["--as-of", "2026-03-20"])
        .arg(sample("mail"))
        .arg(sample("notes"))
        .env("DEALSIGNAL_LOG", "dealsignal=warn")
        .output()
        .expect("dealsignal starts");
    assert!(
        out.status.success(),
        "run failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn keyword_tracker_finds_its_words_in_every_language_without_diacritics() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny-model");
    dealsignal::nlp::encoder::write_tiny_model(&model, 7).expect("tiny model is written");
    let trackers = dir.path().join("trackers.json");
    // Written without the Swedish and German diacritics on purpose.
    std::fs::write(
        &trackers,
        r#"{"trackers": [{"name": "liability_cap",
            "keywords": ["liability cap", "ansvarsbegransningen", "HAFTUNGSBEGRENZUNG"]}]}"#,
    )
    .unwrap();
    let workspace = dir.path().join("ws");
    run_with_trackers(&workspace, &model, &trackers);

    assert!(
        workspace.join("trackers.json").exists(),
        "trackers are kept"
    );
    let store = Store::open(&workspace).unwrap();
    let hits: Vec<_> = store
        .analyses()
        .unwrap()
        .into_iter()
        .flat_map(|a| a.signals)
        .filter(|s| s.tracker.is_some())
        .collect();
    let found = |word: &str| hits.iter().any(|s| s.sentence.contains(word));
    assert!(found("liability cap"), "English: {hits:#?}");
    assert!(found("ansvarsbegränsningen"), "Swedish: {hits:#?}");
    assert!(found("Haftungsbegrenzung"), "German: {hits:#?}");
    for hit in &hits {
        assert_eq!(hit.tracker.as_deref(), Some("liability_cap"));
        assert_eq!(hit.kind, SignalKind::Custom);
        assert_eq!(hit.score, 1.0);
        let lower = hit.sentence.to_lowercase();
        assert!(
            [
                "liability cap",
                "ansvarsbegränsningen",
                "haftungsbegrenzung"
            ]
            .iter()
            .any(|w| lower.contains(w)),
            "a hit without the keyword: {}",
            hit.sentence
        );
    }
}

#[test]
fn a_broken_trackers_file_stops_the_run_and_names_the_tracker() {
    let dir = tempfile::tempdir().unwrap();
    let trackers = dir.path().join("trackers.json");
    std::fs::write(&trackers, r#"{"trackers": [{"name": "nothing"}]}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dealsignal"))
        .args(["run", "--workspace"])
        .arg(dir.path().join("ws"))
        .arg("--trackers")
        .arg(&trackers)
        .arg(sample("notes"))
        .output()
        .expect("dealsignal starts");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("trackers.json") && err.contains("nothing"),
        "{err}"
    );
}
