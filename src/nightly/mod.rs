//! The nightly enrichment job: only the new work, resumable after a kill.
//!
//! `dealsignal nightly` runs the stages of [`crate::pipeline`] as five
//! recorded steps (ingest, analyse, index, score, write). Ingest stores only
//! messages not seen before, analyse sends only messages without an analysis
//! through the encoder (which is not even loaded when there are none), the
//! index takes only what was analysed, and every open deal is rescored with
//! the registry's model ([`registry`]). The write step produces the enriched
//! records as CSV, JSON lines and Parquet, a warnings report and the HTML
//! report ([`crate::report`]), each through a temporary file and a rename
//! ([`outputs`]).
//!
//! A killed job leaves its steps and scores in the store. The next run for
//! the same day resumes that job: it skips the steps already done, scores
//! with the model the job registered and compares probabilities with the
//! runs before the job, so it writes exactly what an uninterrupted run would.

pub mod action;
pub mod outputs;
pub mod registry;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use serde::Serialize;

pub use action::next_action;

use crate::config::WorkspaceConfig;
use crate::error::{Error, Result};
use crate::nlp::trackers::Trackers;
use crate::nlp::Embedder;
use crate::pipeline::{self, EnrichContext, RunOptions};
use crate::predict::{
    backtest, forecast_by_quarter, time_split_report, BacktestQuarter, ForecastConfig, Quarter,
    QuarterForecast, ValidationReport, WinModel,
};
use crate::report::{self, CalibrationPoint, ReportInput};
use crate::store::Store;

/// The steps of a job, in order.
pub const STEPS: [&str; 5] = ["ingest", "analyse", "index", "score", "write"];

/// What `dealsignal nightly` needs to know.
#[derive(Debug, Clone)]
pub struct NightlyOptions {
    /// What the job works on, as for `dealsignal run`. Its `as_of` is also
    /// the job's day: a job killed on one day is resumed only that day.
    pub run: RunOptions,
    /// For tests of the resume: after this step is recorded the job waits
    /// (sleeps) until it is killed.
    pub pause_after: Option<String>,
}

/// What one nightly job did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NightlySummary {
    pub run_id: i64,
    pub resumed: bool,
    /// Steps an earlier, killed attempt had already done.
    pub skipped_steps: Vec<String>,
    pub messages_read: usize,
    pub messages_new: usize,
    pub analysed: usize,
    pub encoder_loaded: bool,
    pub scored: usize,
    /// Registry id of the model used, and whether this job trained it.
    pub model_id: Option<i64>,
    pub model_trained: bool,
    pub warnings: usize,
    pub forecast: Vec<QuarterForecast>,
    pub outputs: Vec<String>,
    pub seconds: BTreeMap<String, f64>,
}

/// Runs (or resumes) the nightly job. `load_embedder` is called only when
/// there are messages to analyse.
pub fn run_nightly<E: Embedder>(
    opts: &NightlyOptions,
    load_embedder: impl FnOnce(&Path) -> Result<E>,
) -> Result<NightlySummary> {
    let mut store = Store::open(&opts.run.workspace)?;
    let job = store.begin_nightly(opts.run.as_of)?;
    let done: HashMap<String, serde_json::Value> =
        store.nightly_steps(job.run_id)?.into_iter().collect();
    let mut summary = NightlySummary {
        run_id: job.run_id,
        resumed: job.resumed,
        skipped_steps: STEPS
            .iter()
            .filter(|s| done.contains_key(**s))
            .map(|s| s.to_string())
            .collect(),
        ..NightlySummary::default()
    };
    tracing::info!(run_id = job.run_id, resumed = job.resumed, as_of = %opts.run.as_of, "nightly job");
    let out_dir = opts.run.workspace.join("out");
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;

    let clock = Instant::now();
    if !done.contains_key("ingest") {
        ingest_step(opts, &mut store, &out_dir, &mut summary, job.run_id)?;
        let detail = serde_json::json!({
            "read": summary.messages_read,
            "new": summary.messages_new,
        });
        finish_step(opts, &mut store, job.run_id, "ingest", &detail)?;
    }
    summary
        .seconds
        .insert("ingest".into(), clock.elapsed().as_secs_f64());

    let clock = Instant::now();
    let pending = store.messages_without_analysis()?;
    if !pending.is_empty() {
        let embedder = load_embedder(&opts.run.model_dir)?;
        summary.encoder_loaded = true;
        let heads = pipeline::workspace_heads(
            &opts.run.workspace,
            &embedder,
            &mut store,
            opts.run.progress,
        )?;
        let trackers = Trackers::for_workspace(&opts.run.workspace, &embedder)?;
        let (analysed, _) = pipeline::analyse_pending(
            &pending,
            &embedder,
            &heads,
            &trackers,
            &mut store,
            opts.run.progress,
        )?;
        summary.analysed = analysed;
    }
    if !done.contains_key("analyse") {
        let detail = serde_json::json!({ "analysed": summary.analysed });
        finish_step(opts, &mut store, job.run_id, "analyse", &detail)?;
    }
    summary
        .seconds
        .insert("analyse".into(), clock.elapsed().as_secs_f64());

    let deals = store.deals()?;
    let messages = store.messages()?;
    let analyses = store.analyses()?;

    let clock = Instant::now();
    if !done.contains_key("index") {
        // A resumed job cannot know which messages the killed attempt
        // analysed, so it reindexes them all.
        let analysed_now: HashSet<&str> = if job.resumed {
            messages.iter().map(|m| m.id.as_str()).collect()
        } else {
            pending.iter().map(|m| m.id.as_str()).collect()
        };
        pipeline::update_index(
            &opts.run.workspace,
            &messages,
            &analyses,
            &deals,
            &analysed_now,
        )?;
        let detail = serde_json::json!({ "indexed": analysed_now.len() });
        finish_step(opts, &mut store, job.run_id, "index", &detail)?;
    }
    summary
        .seconds
        .insert("index".into(), clock.elapsed().as_secs_f64());

    let clock = Instant::now();
    if !done.contains_key("score") {
        let (rows, labels) = pipeline::training_set(&deals, &messages, &analyses, opts.run.as_of);
        let closed = registry::closed_deals(&deals);
        match registry::model_for_job(&mut store, job.run_id, &closed, &rows, &labels) {
            Ok(chosen) => {
                let scores = pipeline::score_open(
                    &chosen.model,
                    &deals,
                    &messages,
                    &analyses,
                    opts.run.as_of,
                )?;
                store.save_scores(job.run_id, &scores)?;
                summary.model_id = Some(chosen.id);
                summary.model_trained = chosen.trained_now;
            }
            Err(error) => tracing::warn!("no win probabilities this run: {error}"),
        }
        let detail = serde_json::json!({ "model": summary.model_id });
        finish_step(opts, &mut store, job.run_id, "score", &detail)?;
    } else {
        summary.model_id = done["score"]["model"].as_i64();
    }
    // Read back what was saved, so a resumed job uses the same numbers.
    let scores = store.scores_of_run(job.run_id)?;
    summary.scored = scores.len();
    summary
        .seconds
        .insert("score".into(), clock.elapsed().as_secs_f64());

    let clock = Instant::now();
    let previous = store.scores_before_run(job.run_id)?;
    let context = EnrichContext {
        as_of: opts.run.as_of,
        previous: &previous,
        warnings: &WorkspaceConfig::load(&opts.run.workspace)?.warnings,
    };
    let enriched = pipeline::enrich(&deals, &messages, &analyses, &scores, &context);
    summary.warnings = enriched.iter().map(|d| d.warnings.len()).sum();
    let probabilities: HashMap<String, f64> = scores
        .iter()
        .map(|s| (s.deal_id.clone(), s.probability))
        .collect();
    summary.forecast = forecast_by_quarter(&deals, &probabilities, &ForecastConfig::default());

    let model = match summary.model_id {
        Some(id) => store.models()?.into_iter().find(|m| m.id == id),
        None => None,
    };
    let report_input = ReportInput {
        as_of: opts.run.as_of,
        deals: &enriched,
        forecast: &summary.forecast,
        calibration: &model.as_ref().map(calibration_points).unwrap_or_default(),
        model: model
            .as_ref()
            .map_or("none (too few closed deals)".to_string(), |m| {
                let n = m.metrics["train"]["n"].as_u64().unwrap_or(0);
                format!("{} #{}, trained on {n} closed deals", m.kind, m.id)
            }),
    };
    let paths: Vec<PathBuf> = ["deals.csv", "deals.jsonl", "deals.parquet", "warnings.csv"]
        .iter()
        .chain(&["report.html"])
        .map(|name| out_dir.join(name))
        .collect();
    outputs::deals_csv(&paths[0], &enriched)?;
    outputs::deals_jsonl(&paths[1], &enriched)?;
    outputs::deals_parquet(&paths[2], &enriched)?;
    outputs::warnings_csv(&paths[3], &enriched)?;
    let page = report::render(&report_input);
    outputs::write_atomically(&paths[4], |temp| {
        std::fs::write(temp, &page).map_err(|e| Error::io(temp, e))
    })?;
    summary.outputs = paths.iter().map(|p| p.display().to_string()).collect();
    summary
        .seconds
        .insert("write".into(), clock.elapsed().as_secs_f64());
    finish_step(
        opts,
        &mut store,
        job.run_id,
        "write",
        &serde_json::json!({}),
    )?;

    store.finish_run(
        job.run_id,
        &serde_json::to_value(&summary).expect("summary serialises"),
    )?;
    tracing::info!(
        run_id = job.run_id,
        new = summary.messages_new,
        analysed = summary.analysed,
        scored = summary.scored,
        "nightly job finished"
    );
    Ok(summary)
}

fn ingest_step(
    opts: &NightlyOptions,
    store: &mut Store,
    out_dir: &Path,
    summary: &mut NightlySummary,
    run_id: i64,
) -> Result<()> {
    let (deals, internal, _) = pipeline::load_deals(store, &opts.run)?;
    let (report, new) = pipeline::ingest_new(store, &opts.run.sources, &deals, &internal, run_id)?;
    summary.messages_read = report.messages.len();
    summary.messages_new = new;
    let skipped = out_dir.join("skipped.tsv");
    outputs::write_atomically(&skipped, |temp| {
        pipeline::write_skipped(temp, &report.skipped)
    })?;
    tracing::info!(
        read = summary.messages_read,
        new = summary.messages_new,
        skipped = report.skipped.len(),
        "ingest finished"
    );
    Ok(())
}

fn finish_step(
    opts: &NightlyOptions,
    store: &mut Store,
    run_id: i64,
    step: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    store.record_nightly_step(run_id, step, detail)?;
    if opts.pause_after.as_deref() == Some(step) {
        tracing::warn!(step, "paused after step, waiting to be killed");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
    Ok(())
}

/// The reliability table of a registered model's time-split validation,
/// bins without deals left out.
fn calibration_points(model: &crate::store::StoredModel) -> Vec<CalibrationPoint> {
    let side = if model.kind == "logistic" {
        "baseline"
    } else {
        "gbm"
    };
    let bins = model.metrics["validation"][side]["reliability"].as_array();
    bins.map(|bins| {
        bins.iter()
            .filter_map(|bin| {
                Some(CalibrationPoint {
                    predicted: bin["mean_predicted"].as_f64()?,
                    observed: bin["observed_rate"].as_f64()?,
                    count: bin["count"].as_u64()? as usize,
                })
            })
            .filter(|p| p.count > 0)
            .collect()
    })
    .unwrap_or_default()
}

/// The closed deals of a workspace with their feature rows and outcomes,
/// as the win model would train on them.
fn workspace_training_set(
    workspace: &Path,
    today: NaiveDate,
) -> Result<(
    Vec<crate::domain::Deal>,
    Vec<crate::predict::FeatureRow>,
    Vec<bool>,
)> {
    if !workspace.join(crate::store::DB_FILE).exists() {
        return Err(Error::bad_input(
            workspace,
            "no store here; run `dealsignal nightly` or `dealsignal run` first",
        ));
    }
    let store = Store::open(workspace)?;
    let deals = store.deals()?;
    let messages = store.messages()?;
    let analyses = store.analyses()?;
    let (rows, labels) = pipeline::training_set(&deals, &messages, &analyses, today);
    Ok((registry::closed_deals(&deals), rows, labels))
}

/// The time-split validation of the workspace's closed deals, at `cutoff`
/// or at the close date that leaves the newest 30% for testing.
pub fn validate_workspace(
    workspace: &Path,
    cutoff: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<ValidationReport> {
    let (closed, rows, labels) = workspace_training_set(workspace, today)?;
    let cutoff = cutoff
        .or_else(|| registry::default_cutoff(&closed))
        .ok_or_else(|| Error::bad_input(workspace, "fewer than two closed deals with a date"))?;
    time_split_report(&closed, &rows, &labels, cutoff)
}

/// Fewest closed deals a back-test model is trained on; earlier quarters
/// are left out rather than forecast from a handful of deals.
const BACKTEST_MIN_TRAINING: usize = 8;

/// Forecast against actual for each past quarter: at each quarter's first
/// day a model is trained only on the deals closed before that day, and
/// scores the deals then open (features as of that day), so no quarter is
/// forecast with knowledge of its own outcomes.
pub fn backtest_workspace(workspace: &Path, today: NaiveDate) -> Result<Vec<BacktestQuarter>> {
    let (closed, _, _) = workspace_training_set(workspace, today)?;
    let store = Store::open(workspace)?;
    let deals = store.deals()?;
    let messages = store.messages()?;
    let analyses = store.analyses()?;
    let analysis_by_id: HashMap<String, &crate::domain::Analysis> =
        analyses.iter().map(|a| (a.message_id.clone(), a)).collect();
    let mut by_deal: HashMap<&str, Vec<&crate::domain::Message>> = HashMap::new();
    for message in &messages {
        if let Some(deal) = &message.deal_id {
            by_deal.entry(deal.as_str()).or_default().push(message);
        }
    }

    let mut close_dates: Vec<NaiveDate> = closed.iter().filter_map(|d| d.close_date).collect();
    close_dates.sort();
    let (Some(&first_trainable), Some(&last)) = (
        close_dates.get(BACKTEST_MIN_TRAINING - 1),
        close_dates.last(),
    ) else {
        return Ok(Vec::new());
    };
    let first = Quarter::of(first_trainable).next();
    let last = Quarter::of(last);

    // One model per quarter start, trained on what had closed by then.
    let models: std::cell::RefCell<HashMap<NaiveDate, Option<WinModel>>> = Default::default();
    let model_at = |day: NaiveDate| -> Option<WinModel> {
        let before: Vec<crate::domain::Deal> = deals
            .iter()
            .filter(|d| d.outcome != crate::domain::Outcome::Open)
            .filter(|d| d.close_date.is_some_and(|c| c < day))
            .cloned()
            .collect();
        let (rows, labels) = pipeline::training_set(&before, &messages, &analyses, day);
        WinModel::train(&rows, &labels).ok()
    };
    let probability_at = |deal: &crate::domain::Deal, day: NaiveDate| -> Option<f64> {
        let mut cache = models.borrow_mut();
        let model = cache.entry(day).or_insert_with(|| model_at(day)).as_ref()?;
        let msgs = by_deal.get(deal.id.as_str()).cloned().unwrap_or_default();
        let row = crate::predict::deal_features(deal, &msgs, &analysis_by_id, day);
        model.predict(&[row]).ok()?.first().map(|p| p.probability)
    };
    Ok(backtest(
        &deals,
        first,
        last,
        probability_at,
        &ForecastConfig::default(),
    ))
}

/// Prints the back-test as a table.
pub fn format_backtest(quarters: &[BacktestQuarter]) -> String {
    let mut out = String::from(
        "back-test: forecast at each quarter's start against what was won\n\
         quarter   deals     forecast          p10          p90       actual  in range  \
         won (all deals)\n",
    );
    for q in quarters {
        out.push_str(&format!(
            "{:<8} {:>6} {:>12.0} {:>12.0} {:>12.0} {:>12.0}  {:<8}  {:>12.0}\n",
            q.forecast.quarter.to_string(),
            q.forecast.deals,
            q.forecast.expected,
            q.forecast.p10,
            q.forecast.p90,
            q.actual_won,
            if q.within_range { "yes" } else { "no" },
            // An empty sum of f64 is -0.0; adding 0.0 prints it as 0.
            q.actual_won_all + 0.0
        ));
    }
    out
}

/// Writes the closed deals' features as CSV (deal, close date, won, then one
/// column per feature; empty = missing) for comparisons with other tools.
pub fn export_features(workspace: &Path, path: &Path, today: NaiveDate) -> Result<usize> {
    let (closed, rows, labels) = workspace_training_set(workspace, today)?;
    let to_err = |e: csv::Error| Error::bad_input(path, e.to_string());
    let mut writer = csv::Writer::from_path(path).map_err(to_err)?;
    let mut header = vec!["deal_id", "close_date", "won"];
    header.extend(crate::predict::feature_names());
    writer.write_record(&header).map_err(to_err)?;
    for ((deal, row), won) in closed.iter().zip(&rows).zip(&labels) {
        let mut record = vec![
            deal.id.clone(),
            deal.close_date.map(|d| d.to_string()).unwrap_or_default(),
            u8::from(*won).to_string(),
        ];
        record.extend(row.values.iter().map(|v| {
            if v.is_nan() {
                String::new()
            } else {
                v.to_string()
            }
        }));
        writer.write_record(&record).map_err(to_err)?;
    }
    writer.flush().map_err(|e| Error::io(path, e))?;
    Ok(rows.len())
}
