//! End-to-end: the `dealsignal nightly` job on the bundled sample with a tiny
//! generated model, killed (SIGKILL) at every step and at random moments;
//! the rerun must write the same files as a run that was never killed.
//!
//! The outputs carry no wall-clock time (the store's `runs`, `nightly_steps`
//! and `models` tables do), so "the same" here means byte-equal files.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const OUTPUTS: [&str; 6] = [
    "deals.csv",
    "deals.jsonl",
    "deals.parquet",
    "warnings.csv",
    "report.html",
    "skipped.tsv",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn nightly_command(workspace: &Path, model: &Path) -> Command {
    let sample = repo().join("fixtures/sample");
    let mut command = Command::new(env!("CARGO_BIN_EXE_dealsignal"));
    command
        .arg("nightly")
        .arg("--workspace")
        .arg(workspace)
        .arg("--model-dir")
        .arg(model)
        .arg("--deals")
        .arg(sample.join("deals.csv"))
        .args(["--as-of", "2026-03-20"])
        .arg(sample.join("mail"))
        .arg(sample.join("notes"))
        .env("DEALSIGNAL_LOG", "dealsignal=warn")
        .env_remove("DEALSIGNAL_NIGHTLY_PAUSE_AFTER");
    command
}

fn run_to_end(workspace: &Path, model: &Path) -> Output {
    let out = nightly_command(workspace, model)
        .output()
        .expect("dealsignal starts");
    assert!(
        out.status.success(),
        "nightly failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn outputs(workspace: &Path) -> Vec<(String, Vec<u8>)> {
    OUTPUTS
        .iter()
        .map(|name| {
            let path = workspace.join("out").join(name);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name.to_string(), bytes)
        })
        .collect()
}

fn assert_same_outputs(clean: &[(String, Vec<u8>)], workspace: &Path, case: &str) {
    for ((name, expected), (_, got)) in clean.iter().zip(outputs(workspace)) {
        assert!(
            *expected == got,
            "{case}: out/{name} differs from the clean run's"
        );
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    model: PathBuf,
    clean: Vec<(String, Vec<u8>)>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let model = root.join("tiny-model");
    dealsignal::nlp::encoder::write_tiny_model(&model, 7).expect("tiny model is written");
    let clean_ws = root.join("clean");
    run_to_end(&clean_ws, &model);
    let clean = outputs(&clean_ws);
    Fixture {
        _dir: dir,
        root,
        model,
        clean,
    }
}

#[test]
fn rerun_after_a_kill_at_any_step_writes_what_a_clean_run_writes() {
    let fx = fixture();
    for step in dealsignal::nightly::STEPS {
        let workspace = fx.root.join(format!("killed-after-{step}"));
        let mut child = nightly_command(&workspace, &fx.model)
            .env("DEALSIGNAL_NIGHTLY_PAUSE_AFTER", step)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("dealsignal starts");
        let stderr = child.stderr.take().unwrap();
        let mut paused = false;
        for line in BufReader::new(stderr).lines() {
            if line.unwrap().contains("paused after step") {
                paused = true;
                break;
            }
        }
        assert!(paused, "the job never reached step {step}");
        child.kill().expect("SIGKILL is delivered");
        child.wait().unwrap();

        let out = run_to_end(&workspace, &fx.model);
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("(resumed)"), "after {step}: {said}");
        assert_same_outputs(&fx.clean, &workspace, &format!("killed after {step}"));
    }
}

#[test]
fn rerun_after_a_kill_at_a_random_moment_writes_what_a_clean_run_writes() {
    let fx = fixture();
    for (i, millis) in [30u64, 250, 700, 1500].into_iter().enumerate() {
        let workspace = fx.root.join(format!("killed-{i}"));
        let mut child = nightly_command(&workspace, &fx.model)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dealsignal starts");
        std::thread::sleep(Duration::from_millis(millis));
        let _ = child.kill(); // it may have finished already
        child.wait().unwrap();
        run_to_end(&workspace, &fx.model);
        assert_same_outputs(&fx.clean, &workspace, &format!("killed after {millis} ms"));
    }
}

#[test]
fn run_without_new_mail_does_not_load_the_encoder_or_retrain() {
    let fx = fixture();
    let workspace = fx.root.join("twice");
    run_to_end(&workspace, &fx.model);
    // A model folder that does not exist: loading it would fail the run.
    let out = run_to_end(&workspace, &fx.root.join("no-model-here"));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("(0 new)"), "{said}");
    assert!(said.contains("encoder not loaded"), "{said}");
    assert!(!said.contains("(new)"), "the model was retrained: {said}");
    assert_same_outputs(&fx.clean, &workspace, "second run");

    let models = Command::new(env!("CARGO_BIN_EXE_dealsignal"))
        .args(["models", "--workspace"])
        .arg(&workspace)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&models.stdout);
    let versions = table
        .lines()
        .filter(|l| l.trim_start().starts_with(char::is_numeric))
        .count();
    assert_eq!(versions, 1, "one model for unchanged data:\n{table}");
}

#[test]
fn parquet_output_holds_every_deal_with_all_columns() {
    use parquet::file::reader::{FileReader, SerializedFileReader};

    let fx = fixture();
    let path = fx.root.join("clean/out/deals.parquet");
    let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let meta = reader.metadata().file_metadata();
    let deals = csv::Reader::from_path(repo().join("fixtures/sample/deals.csv"))
        .unwrap()
        .records()
        .count();
    assert_eq!(meta.num_rows() as usize, deals);
    assert_eq!(meta.schema_descr().num_columns(), 17);
    let jsonl = String::from_utf8(fx.clean[1].1.clone()).unwrap();
    assert_eq!(jsonl.lines().count(), deals);
}
