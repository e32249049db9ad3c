//! End-to-end: the `dealsignal` binary on the bundled sample, with a tiny
//! generated model in the real file format so that no download is needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample(part: &str) -> PathBuf {
    repo().join("fixtures/sample").join(part)
}

fn tiny_model(dir: &Path) -> PathBuf {
    let model = dir.join("tiny-model");
    dealsignal::nlp::encoder::write_tiny_model(&model, 7).expect("tiny model is written");
    model
}

fn dealsignal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dealsignal"))
        .args(args)
        .env("DEALSIGNAL_LOG", "dealsignal=warn")
        .output()
        .expect("dealsignal starts")
}

fn run_sample(workspace: &Path, model: &Path) -> Output {
    let out = dealsignal(&[
        "run",
        "--workspace",
        workspace.to_str().unwrap(),
        "--model-dir",
        model.to_str().unwrap(),
        "--deals",
        sample("deals.csv").to_str().unwrap(),
        "--as-of",
        "2026-03-20",
        sample("mail").to_str().unwrap(),
        sample("notes").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "run failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn deals_in_csv(path: &Path) -> Vec<csv::StringRecord> {
    let mut reader = csv::Reader::from_path(path).expect("csv opens");
    reader.records().map(|r| r.expect("csv row")).collect()
}

#[test]
fn run_on_sample_enriches_every_deal_and_scores_open_ones() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let workspace = dir.path().join("ws");
    let out = run_sample(&workspace, &model);

    let input = deals_in_csv(&sample("deals.csv"));
    let json = std::fs::read_to_string(workspace.join("out/deals.json")).unwrap();
    let enriched: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(enriched.len(), input.len(), "one enriched record per deal");
    assert_eq!(
        deals_in_csv(&workspace.join("out/deals.csv")).len(),
        input.len()
    );

    let open: Vec<_> = enriched.iter().filter(|d| d["outcome"] == "open").collect();
    assert!(!open.is_empty(), "the sample has open deals");
    for deal in &open {
        let p = deal["win_probability"]
            .as_f64()
            .expect("open deals get a probability");
        assert!(p > 0.0 && p < 1.0, "{p}");
        assert!(deal["messages"].as_u64().unwrap() > 0, "{}", deal["id"]);
    }
    let with_mail = enriched
        .iter()
        .filter(|d| d["last_contact"].is_string())
        .count();
    assert_eq!(
        with_mail,
        input.len(),
        "every sample deal has attributed mail"
    );

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("P(WIN)"),
        "summary table printed:\n{stdout}"
    );
}

#[test]
fn rerun_over_the_same_sources_adds_nothing_and_gives_the_same_scores() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let workspace = dir.path().join("ws");
    run_sample(&workspace, &model);
    let first = std::fs::read_to_string(workspace.join("out/deals.json")).unwrap();

    let second_run = run_sample(&workspace, &model);
    let stdout = String::from_utf8_lossy(&second_run.stdout);
    assert!(
        stdout.contains("(0 new,"),
        "nothing new on rerun:\n{stdout}"
    );
    assert!(
        stdout.contains(" 0 analysed"),
        "nothing re-analysed:\n{stdout}"
    );
    let second = std::fs::read_to_string(workspace.join("out/deals.json")).unwrap();
    assert_eq!(first, second);
}

#[test]
fn phrase_search_finds_the_call_note_it_was_taken_from() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let workspace = dir.path().join("ws");
    run_sample(&workspace, &model);

    // Take a phrase from a note on disk rather than hard-coding one.
    let note = std::fs::read_dir(sample("notes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .min()
        .expect("sample has notes");
    let text = std::fs::read_to_string(&note).unwrap();
    let (header, body) = text.split_once("\n---\n").expect("note has a header");
    let deal = header
        .lines()
        .find_map(|l| l.strip_prefix("deal:"))
        .unwrap()
        .trim()
        .to_string();
    // Three neighbouring plain words, so the phrase really occurs as written.
    let tokens: Vec<&str> = body.split_whitespace().collect();
    let words = tokens
        .windows(3)
        .find(|w| {
            w.iter()
                .all(|t| t.chars().count() > 2 && t.chars().all(char::is_alphabetic))
        })
        .expect("note body has three plain words in a row");
    let phrase = format!("\"{}\"", words.join(" "));

    let out = dealsignal(&[
        "search",
        "--workspace",
        workspace.to_str().unwrap(),
        "--json",
        &phrase,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        hits.iter()
            .any(|h| h["deal_id"].as_str().map(str::to_lowercase) == Some(deal.to_lowercase())),
        "{phrase} should find a hit of deal {deal}: {hits:?}"
    );
}

#[test]
fn a_broken_message_is_reported_with_its_offset_and_the_rest_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let mbox = dir.path().join("mixed.mbox");
    let good = "From a@x.example Mon Jan  5 10:00:00 2026\n\
                From: Lars <lars@kund.example>\nTo: anna@brightloop.example\n\
                Subject: Offer\nMessage-ID: <good-1@kund.example>\n\
                Date: Mon, 5 Jan 2026 10:00:00 +0000\n\n\
                We have approved the budget for the rollout.\n\n";
    let broken = "From b@x.example Mon Jan  5 11:00:00 2026\n\u{0}\u{0}\u{0} not a header\n\n";
    std::fs::write(&mbox, format!("{good}{broken}")).unwrap();

    let workspace = dir.path().join("ws");
    let out = dealsignal(&[
        "run",
        "--workspace",
        workspace.to_str().unwrap(),
        "--model-dir",
        model.to_str().unwrap(),
        mbox.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 messages read"), "{stdout}");

    let skipped = std::fs::read_to_string(workspace.join("out/skipped.tsv")).unwrap();
    let rows: Vec<&str> = skipped.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{skipped}");
    assert!(rows[0].contains("mixed.mbox"), "{skipped}");
    let offset: usize = rows[0].split('\t').nth(1).unwrap().parse().unwrap();
    assert_eq!(offset, good.len(), "offset points at the broken message");
}

#[test]
fn missing_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("ws");
    let out = dealsignal(&[
        "run",
        "--workspace",
        workspace.to_str().unwrap(),
        "--model-dir",
        dir.path().join("nowhere").to_str().unwrap(),
        sample("notes").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fetch-model") && stderr.contains("nowhere"),
        "{stderr}"
    );
}

#[test]
fn search_without_a_workspace_says_what_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dealsignal(&[
        "search",
        "--workspace",
        dir.path().to_str().unwrap(),
        "budget",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("dealsignal run"));
}

#[test]
fn validate_prints_the_time_split_and_a_back_test_per_quarter() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let workspace = dir.path().join("ws");
    run_sample(&workspace, &model);

    let out = dealsignal(&["validate", "--workspace", workspace.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let backtest = stdout
        .split_once("back-test")
        .expect("a back-test section")
        .1;
    let quarters: Vec<&str> = backtest
        .lines()
        .filter(|l| l.len() > 7 && l.as_bytes()[4] == b'-' && l.as_bytes()[5] == b'Q')
        .collect();
    assert!(!quarters.is_empty(), "{stdout}");
    let covered: u64 = quarters
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(covered > 0, "some closed deals were forecast: {stdout}");
}

#[test]
fn deleting_a_source_file_takes_its_messages_out_of_search() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let mail = dir.path().join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    let eml = |id: &str, words: &str| {
        format!(
            "From: Lars <lars@kund.example>\nTo: anna@brightloop.example\n\
             Subject: Offer {id}\nMessage-ID: <{id}@kund.example>\n\
             Date: Mon, 5 Jan 2026 10:00:00 +0000\n\n{words}\n"
        )
    };
    std::fs::write(
        mail.join("keep.eml"),
        eml("keep", "The pilot went well overall."),
    )
    .unwrap();
    std::fs::write(
        mail.join("gone.eml"),
        eml("gone", "Procurement wants a yellow umbrella."),
    )
    .unwrap();
    let workspace = dir.path().join("ws");
    let run = || {
        let out = dealsignal(&[
            "run",
            "--workspace",
            workspace.to_str().unwrap(),
            "--model-dir",
            model.to_str().unwrap(),
            mail.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let hits = |query: &str| {
        let out = dealsignal(&[
            "search",
            "--workspace",
            workspace.to_str().unwrap(),
            "--json",
            query,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    run();
    assert_eq!(hits("\"yellow umbrella\""), 1);
    assert_eq!(hits("pilot"), 1);

    std::fs::remove_file(mail.join("gone.eml")).unwrap();
    run();
    assert_eq!(
        hits("\"yellow umbrella\""),
        0,
        "the deleted mail is gone from search"
    );
    assert_eq!(hits("pilot"), 1, "the other mail stays");
    let store = dealsignal::store::Store::open(&workspace).unwrap();
    let ids: Vec<String> = store
        .messages()
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, vec!["keep@kund.example"]);
}
