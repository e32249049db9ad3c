//! Ingest benchmark: reads the Enron Maildir and the Apache Pony Mail mbox
//! archives from /work/shared/realdata into a fresh workspace store, then
//! reruns over the same files, where the file ledger should make the rerun
//! skip every file. Each measurement is repeated and the median printed as
//! one tab-separated line:
//! `corpus<TAB>phase<TAB>messages read<TAB>kept<TAB>bytes<TAB>median ms<TAB>all runs ms`,
//! where messages read counts duplicates and skipped mail too (the work
//! done) and kept counts what was stored.
//! Timings cover what `dealsignal run` does for ingest: load the ledger,
//! read and parse the files, commit messages and ledger in one transaction.
//! scripts/bench-ingest turns the lines into a table.
//! Run: `cargo run --release --example bench_ingest [RUNS]`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use dealsignal::ingest::{read_sources, IngestOptions, IngestReport};
use dealsignal::store::Store;

const ENRON: &str = "/work/shared/realdata/enron_berkeley_categories/maildir_standard";
const PONYMAIL: &str = "/work/shared/realdata/apache_ponymail_mbox/corpus";

/// One ingest into `workspace`: ledger lookup, reading, commit. Returns
/// the report and the elapsed milliseconds.
fn ingest_once(workspace: &Path, source: &Path, internal: &str) -> (IngestReport, f64) {
    let started = Instant::now();
    let mut store = Store::open(workspace).expect("open workspace store");
    let opts = IngestOptions {
        internal_domains: vec![internal.to_string()],
        known_files: store.file_records().expect("read file ledger"),
    };
    let report = read_sources(&[source.to_path_buf()], &opts).expect("read sources");
    let run_id = store.start_run("bench-ingest").expect("start run");
    store
        .commit_ingest(&report.messages, &report.ledger, run_id)
        .expect("commit ingest");
    let ms = started.elapsed().as_secs_f64() * 1e3;
    (report, ms)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn print_line(corpus: &str, phase: &str, counts: (usize, usize, u64), times: &[f64]) {
    let (read, kept, bytes) = counts;
    let all: Vec<String> = times.iter().map(|t| format!("{t:.1}")).collect();
    println!(
        "{corpus}\t{phase}\t{read}\t{kept}\t{bytes}\t{:.1}\t{}",
        median(times),
        all.join(",")
    );
}

fn bench(corpus: &str, source: &Path, internal: &str, runs: usize) {
    assert!(
        source.is_dir(),
        "{} is missing; the benchmark needs /work/shared/realdata",
        source.display()
    );
    let mut full = Vec::new();
    let mut rerun = Vec::new();
    let (mut counts, mut unchanged) = ((0, 0, 0), 0);
    for _ in 0..runs {
        let workspace = tempfile::tempdir().expect("temp workspace");
        let (report, ms) = ingest_once(workspace.path(), source, internal);
        let kept = report.messages.len();
        counts = (kept + report.skipped.len(), kept, report.bytes);
        full.push(ms);

        let (again, ms) = ingest_once(workspace.path(), source, internal);
        assert!(
            again.messages.is_empty() && again.files == 0,
            "rerun read {} files again",
            again.files
        );
        unchanged = again.unchanged;
        rerun.push(ms);
    }
    print_line(corpus, "full", counts, &full);
    // The rerun parses nothing; rates are over the corpus it checked.
    print_line(corpus, "rerun", counts, &rerun);
    eprintln!("{corpus}: rerun found {unchanged} unchanged files");
}

fn main() {
    let runs = std::env::args()
        .nth(1)
        .map_or(3, |n| n.parse().expect("RUNS is a number"));
    bench("enron", &PathBuf::from(ENRON), "enron.com", runs);
    bench("ponymail", &PathBuf::from(PONYMAIL), "apache.org", runs);
}
