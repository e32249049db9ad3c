//! The `dealsignal` command line: the edge where library errors become
//! messages for a person, and results go to stdout.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use dealsignal::domain::Outcome;
use dealsignal::nightly::registry::format_models;
use dealsignal::nightly::{self, run_nightly, NightlyOptions};
use dealsignal::nlp::encoder::Encoder;
use dealsignal::nlp::eval::{evaluate, evaluate_sentiment_sets, read_sentiment_sets};
use dealsignal::nlp::heads::{read_labelled, Heads, LabelledSentence, TrainConfig};
use dealsignal::nlp::trackers::{TrackerConfig, TRACKERS_FILE};
use dealsignal::pipeline::{self, EnrichedDeal, RunOptions, RunSummary};
use dealsignal::search::{SearchIndex, SearchOptions, Sort};

/// Local-first revenue intelligence: mail and call notes in, deal signals,
/// search and win probabilities out. Nothing leaves this machine.
#[derive(Parser)]
#[command(name = "dealsignal", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What the run and nightly jobs both take.
#[derive(clap::Args)]
struct JobArgs {
    /// Folder holding the store, the index and the outputs (created if missing).
    #[arg(long)]
    workspace: PathBuf,
    /// CRM deals export (CSV; Salesforce and HubSpot column names work).
    #[arg(long)]
    deals: Option<PathBuf>,
    /// Folder with e5-small-q4.bin and tokenizer.json (see scripts/fetch-model).
    #[arg(
        long,
        env = "DEALSIGNAL_MODEL_DIR",
        default_value = "models/multilingual-e5-small"
    )]
    model_dir: PathBuf,
    /// Our own mail domain; repeat for several. Deal owners' domains and
    /// those in <workspace>/config.json are added.
    #[arg(long = "internal-domain")]
    internal_domains: Vec<String>,
    /// Score deals as of this day (YYYY-MM-DD); default today.
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// mbox files, Maildir folders, .eml files or folders of call notes.
    #[arg(required = true)]
    sources: Vec<PathBuf>,
}

impl JobArgs {
    /// The job's options; the day defaults to today.
    fn into_run_options(self, progress: bool) -> RunOptions {
        RunOptions {
            as_of: self
                .as_of
                .unwrap_or_else(|| chrono::Local::now().date_naive()),
            workspace: self.workspace,
            deals: self.deals,
            sources: self.sources,
            model_dir: self.model_dir,
            internal_domains: self.internal_domains,
            progress,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SortArg {
    Relevance,
    Newest,
    Oldest,
}

#[derive(Subcommand)]
enum Command {
    /// Check a CRM deals export for what would spoil a forecast: missing or
    /// absurd amounts, past close dates on open deals, duplicate accounts,
    /// stale deals, share of fields filled.
    Doctor {
        /// CRM deals export (CSV; Salesforce and HubSpot column names work).
        deals: PathBuf,
        /// Measure "past" and "stale" from this day (YYYY-MM-DD); default today.
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// Write the search index as a Quickwit index config and NDJSON documents,
    /// for serving the same search from a Quickwit cluster.
    Export {
        /// The workspace a `run` or `nightly` job wrote.
        #[arg(long)]
        workspace: PathBuf,
        /// Folder to write index-config.yaml and docs.ndjson into.
        #[arg(long)]
        quickwit: PathBuf,
    },
    /// Ingest mail and notes, analyse them, score open deals, write enriched records.
    Run {
        #[command(flatten)]
        job: JobArgs,
        /// Custom trackers (JSON, see fixtures/trackers/); copied into the
        /// workspace as trackers.json, which later runs use without the flag.
        #[arg(long)]
        trackers: Option<PathBuf>,
    },
    /// The nightly job: ingest new mail, analyse only new messages, rescore
    /// open deals, write deals.{csv,jsonl,parquet}, warnings.csv and
    /// report.html. A killed job is finished by the next run on the same day.
    Nightly {
        #[command(flatten)]
        job: JobArgs,
    },
    /// List the registered win models with their metrics, oldest first.
    Models {
        /// The workspace a `run` or `nightly` job wrote.
        #[arg(long)]
        workspace: PathBuf,
    },
    /// Time-split validation of the win model on the workspace's closed deals:
    /// AUC, log-loss, Brier, reliability table, trees beside the logistic baseline.
    Validate {
        /// The workspace a `run` or `nightly` job wrote.
        #[arg(long)]
        workspace: PathBuf,
        /// Train on deals closed before this day, test on the rest; default
        /// the day that leaves the newest 30% for testing.
        #[arg(long)]
        cutoff: Option<NaiveDate>,
        /// Also write the closed deals' features to this CSV.
        #[arg(long)]
        export_features: Option<PathBuf>,
    },
    /// Train the signal and sentiment heads of a workspace on your own labelled
    /// sentences (TSV: lang, labels, sentiment, text).
    TrainSignals {
        /// The workspace a `run` or `nightly` job wrote.
        #[arg(long)]
        workspace: PathBuf,
        #[arg(
            long,
            env = "DEALSIGNAL_MODEL_DIR",
            default_value = "models/multilingual-e5-small"
        )]
        model_dir: PathBuf,
        /// Labelled sentences; see fixtures/signals/README.md for the format.
        file: PathBuf,
    },
    /// Score the signal and sentiment heads on held-out labelled sentences.
    Eval {
        #[arg(
            long,
            env = "DEALSIGNAL_MODEL_DIR",
            default_value = "models/multilingual-e5-small"
        )]
        model_dir: PathBuf,
        /// Training sentences; default the bundled set.
        #[arg(long)]
        train: Option<PathBuf>,
        /// Test sentences; default the bundled held-out set.
        #[arg(long)]
        test: Option<PathBuf>,
        /// Workspace whose embedding cache to read and fill (created if missing).
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// The realdata folder: also score sentiment on its public sets.
        #[arg(long)]
        realdata: Option<PathBuf>,
        /// Most sentences per split of each real set (the encoder's time).
        #[arg(long, default_value_t = 500)]
        realdata_limit: usize,
    },
    /// Search all messages: "phrases"~2, AND/OR/NOT, from:, to:, subject:, deal:,
    /// account:, signal:budget_approved, lang:sv, kind:call, date:30d.., sentiment:..-0.2
    Search {
        /// The workspace a `run` or `nightly` job wrote.
        #[arg(long)]
        workspace: PathBuf,
        /// Most hits to print.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON object per hit instead of text.
        #[arg(long)]
        json: bool,
        /// One hit per thread, with how many of its messages matched.
        #[arg(long)]
        threads: bool,
        /// Order of the hits.
        #[arg(long, value_enum, default_value_t = SortArg::Relevance)]
        sort: SortArg,
        /// Print how many messages match per deal instead of the hits.
        #[arg(long)]
        count_by_deal: bool,
        /// The query; several words are joined with spaces.
        #[arg(required = true)]
        query: Vec<String>,
    },
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DEALSIGNAL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("dealsignal=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();

    match dispatch(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text the
/// line already ends with: the library's I/O errors print their source
/// themselves, and `{:#}` printed "File exists (os error 17)" twice.
fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Doctor { deals, as_of } => doctor(&deals, as_of),
        Command::Run { job, trackers } => {
            if let Some(path) = trackers {
                install_trackers(&path, &job.workspace)?;
            }
            let opts = job.into_run_options(true);
            let (summary, deals) = pipeline::run(&opts, load_encoder)?;
            print_summary(&summary, &deals)?;
            Ok(())
        }
        Command::Nightly { job } => {
            let opts = NightlyOptions {
                run: job.into_run_options(std::io::stderr().is_terminal()),
                // Test hook: hold the job after a step so a test can kill it.
                pause_after: std::env::var("DEALSIGNAL_NIGHTLY_PAUSE_AFTER").ok(),
            };
            let summary = run_nightly(&opts, load_encoder)?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "nightly job {}{}: {} messages read ({} new), {} analysed{}, {} deals scored \
                 with model {}{}, {} warnings",
                summary.run_id,
                if summary.resumed { " (resumed)" } else { "" },
                summary.messages_read,
                summary.messages_new,
                summary.analysed,
                if summary.encoder_loaded {
                    ""
                } else {
                    " (encoder not loaded)"
                },
                summary.scored,
                summary
                    .model_id
                    .map_or("-".to_string(), |id| format!("#{id}")),
                if summary.model_trained { " (new)" } else { "" },
                summary.warnings,
            )?;
            writeln!(out, "wrote {}", summary.outputs.join(", "))?;
            Ok(())
        }
        Command::Models { workspace } => {
            // Listing must not create a workspace where a typo points.
            if !workspace.join(dealsignal::store::DB_FILE).exists() {
                anyhow::bail!(
                    "{}: no store here; run `dealsignal nightly` or `dealsignal run` first",
                    workspace.display()
                );
            }
            let store = dealsignal::store::Store::open(&workspace)?;
            let models = store.models()?;
            if models.is_empty() {
                eprintln!("no models yet; `dealsignal nightly` trains and registers one");
            }
            write!(std::io::stdout().lock(), "{}", format_models(&models))?;
            Ok(())
        }
        Command::Validate {
            workspace,
            cutoff,
            export_features,
        } => {
            let today = chrono::Local::now().date_naive();
            if let Some(path) = export_features {
                let n = nightly::export_features(&workspace, &path, today)?;
                eprintln!("wrote {n} closed deals' features to {}", path.display());
            }
            let report = nightly::validate_workspace(&workspace, cutoff, today)?;
            let backtest = nightly::backtest_workspace(&workspace, today)?;
            let mut out = std::io::stdout().lock();
            write!(out, "{report}")?;
            if !backtest.is_empty() {
                write!(out, "\n{}", nightly::format_backtest(&backtest))?;
            }
            Ok(())
        }
        Command::TrainSignals {
            workspace,
            model_dir,
            file,
        } => {
            let examples = labelled_file(&file)?;
            let encoder = load_encoder(&model_dir)?;
            let heads = pipeline::train_workspace_heads(&workspace, &examples, &encoder, true)?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "trained on {} sentences; thresholds:", examples.len())?;
            for (kind, threshold) in heads.thresholds() {
                writeln!(out, "  {:<20} {threshold:.2}", kind.as_str())?;
            }
            writeln!(
                out,
                "messages analysed before keep their old signals; a new workspace analyses all"
            )?;
            Ok(())
        }
        Command::Eval {
            model_dir,
            train,
            test,
            workspace,
            realdata,
            realdata_limit,
        } => {
            let train = match train {
                Some(path) => labelled_file(&path)?,
                None => read_labelled(pipeline::BUNDLED_SIGNALS, Path::new("bundled train.tsv"))?,
            };
            let test = match test {
                Some(path) => labelled_file(&path)?,
                None => read_labelled(
                    pipeline::BUNDLED_SIGNALS_TEST,
                    Path::new("bundled test.tsv"),
                )?,
            };
            let encoder = load_encoder(&model_dir)?;
            let mut embed = |texts: &[String], label: &str| match &workspace {
                Some(dir) => pipeline::embed_all_cached(dir, &encoder, texts, label),
                None => pipeline::embed_all(&encoder, texts, label),
            };
            let texts =
                |set: &[LabelledSentence]| set.iter().map(|e| e.text.clone()).collect::<Vec<_>>();
            let train_vectors = embed(&texts(&train), "train")?;
            let heads = Heads::train(&train_vectors, &train, &TrainConfig::default())?;
            let test_vectors = embed(&texts(&test), "test")?;
            let report = evaluate(&heads, &test, &test_vectors)?;
            let shape = heads.shape();
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "signal head: hidden {}, balanced {} (chosen on validation)\n",
                shape.hidden, shape.balanced
            )?;
            write!(out, "{report}")?;
            if let Some(root) = realdata {
                let sets = read_sentiment_sets(&root, realdata_limit)?;
                let real = evaluate_sentiment_sets(&sets, &heads, &mut embed)?;
                write!(out, "\n{real}")?;
            }
            Ok(())
        }
        Command::Search {
            workspace,
            limit,
            json,
            threads,
            sort,
            count_by_deal,
            query,
        } => {
            let options = SearchOptions {
                limit,
                group_threads: threads,
                sort: match sort {
                    SortArg::Relevance => Sort::Relevance,
                    SortArg::Newest => Sort::DateDesc,
                    SortArg::Oldest => Sort::DateAsc,
                },
                ..SearchOptions::default()
            };
            search(&workspace, &query.join(" "), &options, json, count_by_deal)
        }
        Command::Export {
            workspace,
            quickwit,
        } => {
            let index = open_index(&workspace)?;
            let summary = index.export_quickwit(&quickwit)?;
            println!(
                "wrote {} documents to {} and the index config to {}",
                summary.documents,
                summary.documents_path.display(),
                summary.config_path.display()
            );
            Ok(())
        }
    }
}

/// `dealsignal doctor`: reads the export and prints the data-quality report.
fn doctor(deals: &Path, as_of: Option<NaiveDate>) -> Result<()> {
    let file = dealsignal::ingest::read_deals(deals)?;
    let today = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
    let config = dealsignal::ingest::DoctorConfig::new(today);
    let report = dealsignal::ingest::doctor(&file, &config);
    write!(std::io::stdout().lock(), "{report}")?;
    Ok(())
}

/// Checks a trackers file and copies it into the workspace. Messages analysed
/// before keep their old signals; a new workspace sees the trackers everywhere.
fn install_trackers(path: &Path, workspace: &Path) -> Result<()> {
    TrackerConfig::load(path)?;
    std::fs::create_dir_all(workspace)
        .with_context(|| format!("creating workspace {}", workspace.display()))?;
    let target = workspace.join(TRACKERS_FILE);
    std::fs::copy(path, &target)
        .with_context(|| format!("copying {} to {}", path.display(), target.display()))?;
    Ok(())
}

fn labelled_file(path: &Path) -> Result<Vec<LabelledSentence>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading labelled sentences {}", path.display()))?;
    Ok(read_labelled(&text, path)?)
}

fn load_encoder(dir: &Path) -> dealsignal::Result<Encoder> {
    if !dir.join("e5-small-q4.bin").exists() {
        return Err(dealsignal::Error::Model {
            path: dir.to_path_buf(),
            reason: "model files not found; run scripts/fetch-model first, or pass --model-dir"
                .into(),
        });
    }
    Encoder::load(dir)
}

fn open_index(workspace: &Path) -> Result<SearchIndex> {
    let index_dir = workspace.join("index");
    if !index_dir.exists() {
        anyhow::bail!(
            "{}: no search index here; run `dealsignal run --workspace {}` first",
            workspace.display(),
            workspace.display()
        );
    }
    Ok(SearchIndex::open_or_create(&index_dir)?)
}

fn search(
    workspace: &Path,
    query: &str,
    options: &SearchOptions,
    json: bool,
    count_by_deal: bool,
) -> Result<()> {
    let index = open_index(workspace)?;
    let mut out = std::io::stdout().lock();
    if count_by_deal {
        for (deal, count) in index.counts_per_deal(query)? {
            writeln!(out, "{deal}\t{count}")?;
        }
        return Ok(());
    }
    let hits = index.search_with(query, options)?;
    for hit in &hits {
        if json {
            writeln!(out, "{}", serde_json::to_string(hit)?)?;
            continue;
        }
        let date = hit.date.map(|d| d.format("%Y-%m-%d").to_string());
        let thread = hit
            .thread
            .map(|t| format!("[{}/{}] ", t.matched, t.total))
            .unwrap_or_default();
        writeln!(
            out,
            "{}  {}  {}  {thread}{}\n    {}",
            date.as_deref().unwrap_or("----------"),
            hit.from,
            hit.deal_id.as_deref().unwrap_or("-"),
            hit.subject,
            hit.snippet
        )?;
    }
    if !json {
        let total = index.count(query)?;
        if total > hits.len() && !options.group_threads {
            eprintln!(
                "{} of {total} matching messages shown; --limit shows more",
                hits.len()
            );
        } else {
            eprintln!("{total} matching message(s)");
        }
    }
    Ok(())
}

fn print_summary(summary: &RunSummary, deals: &[EnrichedDeal]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} files, {} messages read ({} new, {} skipped), {} analysed, {} signals, {} deals, {} scored",
        summary.files,
        summary.messages_read,
        summary.messages_new,
        summary.skipped,
        summary.analysed,
        summary.signals,
        summary.deals,
        summary.scored
    )?;
    let mut shown: Vec<&EnrichedDeal> = deals.iter().collect();
    shown.sort_by(|a, b| {
        let open = |d: &EnrichedDeal| d.outcome != Outcome::Open;
        open(a).cmp(&open(b)).then(
            b.win_probability
                .unwrap_or(-1.0)
                .total_cmp(&a.win_probability.unwrap_or(-1.0)),
        )
    });
    if !shown.is_empty() {
        writeln!(
            out,
            "\n{:<8} {:<24} {:<12} {:>6} {:>7} {:>11} {}",
            "DEAL", "ACCOUNT", "STAGE", "P(WIN)", "TREND", "LAST", "SIGNALS"
        )?;
    }
    for deal in shown {
        let probability = match (deal.outcome, deal.win_probability) {
            (Outcome::Open, Some(p)) => format!("{:.0}%", p * 100.0),
            (Outcome::Open, None) => "-".into(),
            (closed, _) => closed.as_str().into(),
        };
        let trend = deal
            .sentiment_trend
            .map(|t| format!("{t:+.2}"))
            .unwrap_or("-".into());
        let last = deal
            .last_contact
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or("-".into());
        let mut signals: Vec<(&String, &usize)> = deal.signal_counts.iter().collect();
        signals.sort_by(|a, b| b.1.cmp(a.1));
        let signals: Vec<String> = signals
            .iter()
            .take(3)
            .map(|(k, n)| format!("{k}×{n}"))
            .collect();
        writeln!(
            out,
            "{:<8} {:<24} {:<12} {:>6} {:>7} {:>11} {}",
            truncate(&deal.id, 8),
            truncate(&deal.account, 24),
            truncate(&deal.stage, 12),
            probability,
            trend,
            last,
            signals.join(" ")
        )?;
    }
    let warned: Vec<&EnrichedDeal> = deals.iter().filter(|d| !d.warnings.is_empty()).collect();
    if !warned.is_empty() {
        writeln!(out, "\nWARNINGS")?;
        for deal in warned {
            for warning in &deal.warnings {
                writeln!(out, "{:<8} {}", truncate(&deal.id, 8), warning.message)?;
            }
        }
    }
    if !summary.forecast.is_empty() {
        writeln!(
            out,
            "\n{:<8} {:>6} {:>14} {:>14} {:>14}",
            "QUARTER", "DEALS", "EXPECTED", "P10", "P90"
        )?;
        for q in &summary.forecast {
            writeln!(
                out,
                "{:<8} {:>6} {:>14.0} {:>14.0} {:>14.0}",
                q.quarter.to_string(),
                q.deals,
                q.expected,
                q.p10,
                q.p90
            )?;
        }
    }
    writeln!(out, "\nwrote {}", summary.outputs.join(", ")).context("writing summary")?;
    Ok(())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::error_line;

    #[test]
    fn io_error_cause_is_printed_once() {
        let io = std::io::Error::from(std::io::ErrorKind::AlreadyExists);
        let error = anyhow::Error::from(dealsignal::error::Error::io("ws", io));

        let line = error_line(&error);

        assert_eq!(line.matches("already exists").count(), 1, "{line}");
        assert!(line.starts_with("ws: "), "{line}");
    }

    #[test]
    fn context_and_cause_are_both_printed() {
        let error = anyhow::anyhow!("bad row").context("reading deals.csv");

        assert_eq!(error_line(&error), "reading deals.csv: bad row");
    }
}
