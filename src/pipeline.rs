//! The `run` job: every stage in order, from source files to enriched deals.
//!
//! ingest -> store -> index -> analyse (encoder + heads) -> predict -> write.
//! Each stage reads what the store already holds, so a rerun over the same
//! sources only adds what is new: messages already stored are not inserted
//! again, and messages already analysed are not sent through the encoder.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::WorkspaceConfig;
use crate::domain::{Analysis, Deal, Direction, Message, Outcome, SignalKind, WinProbability};
use crate::error::{Error, Result};
use crate::ingest::{self, IngestOptions};
use crate::nightly::next_action;
use crate::nlp::heads::{read_labelled, Heads, LabelledSentence, TrainConfig};
use crate::nlp::trackers::Trackers;
use crate::nlp::{self, AnalyseLimits, Embedder};
use crate::predict::describe::describe;
use crate::predict::features::{
    as_of_date, customer_voice, deal_features, feature_names, FeatureRow,
};
use crate::predict::model::WinModel;
use crate::predict::{
    deal_warnings, forecast_by_quarter, ForecastConfig, QuarterForecast, Warning, WarningConfig,
};
use crate::search::{IndexDoc, SearchIndex};
use crate::store::Store;

/// The labelled sales sentences the heads are trained on when a workspace has
/// none of its own. Bundled so that the binary works from any directory.
pub const BUNDLED_SIGNALS: &str = include_str!("../fixtures/signals/train.tsv");

/// The held-out half of the bundled sentences, for `dealsignal eval`.
pub const BUNDLED_SIGNALS_TEST: &str = include_str!("../fixtures/signals/test.tsv");

/// Sentences sent to the encoder in one call: large enough to batch well,
/// small enough for a smooth progress bar.
const EMBED_CHUNK: usize = 256;

/// What `dealsignal run` needs to know.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub workspace: PathBuf,
    pub deals: Option<PathBuf>,
    pub sources: Vec<PathBuf>,
    pub model_dir: PathBuf,
    /// Our own mail domains; the deal owners' domains are added to these.
    pub internal_domains: Vec<String>,
    /// The day the scores are for; features never look past it.
    pub as_of: NaiveDate,
    pub progress: bool,
}

/// Counts and timings of one run, for the summary and the runs table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    pub deals: usize,
    pub deal_row_errors: usize,
    pub files: usize,
    pub bytes: u64,
    pub messages_read: usize,
    pub messages_new: usize,
    pub skipped: usize,
    pub analysed: usize,
    pub sentences_embedded: usize,
    pub signals: usize,
    pub scored: usize,
    /// Expected won revenue per quarter from the open deals' probabilities.
    pub forecast: Vec<QuarterForecast>,
    pub seconds: BTreeMap<String, f64>,
    pub outputs: Vec<String>,
}

/// One deal as written to `out/deals.csv` and `out/deals.json`.
#[derive(Debug, Clone, Serialize)]
pub struct EnrichedDeal {
    pub id: String,
    pub name: String,
    pub account: String,
    pub owner: String,
    pub stage: String,
    pub amount: Option<f64>,
    pub outcome: Outcome,
    pub win_probability: Option<f64>,
    pub messages: usize,
    pub last_contact: Option<DateTime<Utc>>,
    pub last_customer_contact: Option<DateTime<Utc>>,
    pub sentiment_mean: Option<f32>,
    /// Change in the customer's sentiment per 30 days (least squares over
    /// their mails and calls).
    pub sentiment_trend: Option<f64>,
    pub signal_counts: BTreeMap<String, usize>,
    pub signals: Vec<SignalEvidence>,
    pub factors: Vec<String>,
    pub warnings: Vec<Warning>,
    /// The one thing the owner should do next, from the warnings and factors.
    pub next_action: String,
    /// Each analysed message's sentiment by date, for the report's charts;
    /// left out of the records, which carry the mean and the trend.
    #[serde(skip)]
    pub sentiment_series: Vec<(DateTime<Utc>, f32)>,
}

/// A signal with the sentence that shows it, for the deal record.
#[derive(Debug, Clone, Serialize)]
pub struct SignalEvidence {
    pub kind: SignalKind,
    pub date: Option<DateTime<Utc>>,
    pub sentence: String,
    pub score: f32,
}

/// Runs every stage. `load_embedder` is called only when there is text to
/// embed, so a rerun with nothing new never loads the model.
pub fn run<E: Embedder>(
    opts: &RunOptions,
    load_embedder: impl FnOnce(&Path) -> Result<E>,
) -> Result<(RunSummary, Vec<EnrichedDeal>)> {
    let mut summary = RunSummary::default();
    let mut store = Store::open(&opts.workspace)?;
    let run_id = store.start_run("run")?;

    let clock = Instant::now();
    let (deals, internal, row_errors) = load_deals(&mut store, opts)?;
    summary.deal_row_errors = row_errors;
    summary.deals = deals.len();
    tracing::info!(deals = deals.len(), internal = ?internal, "deals loaded");

    let (report, new) = ingest_new(&mut store, &opts.sources, &deals, &internal, run_id)?;
    summary.files = report.files;
    summary.bytes = report.bytes;
    summary.messages_read = report.messages.len();
    summary.skipped = report.skipped.len();
    summary.messages_new = new;
    summary
        .seconds
        .insert("ingest".into(), clock.elapsed().as_secs_f64());
    tracing::info!(
        read = summary.messages_read,
        new = summary.messages_new,
        skipped = summary.skipped,
        "ingest finished"
    );

    let out_dir = opts.workspace.join("out");
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;
    write_skipped(&out_dir.join("skipped.tsv"), &report.skipped)?;
    drop(report);

    let clock = Instant::now();
    let pending = store.messages_without_analysis()?;
    if !pending.is_empty() {
        let embedder = load_embedder(&opts.model_dir)?;
        let heads = workspace_heads(&opts.workspace, &embedder, &mut store, opts.progress)?;
        let trackers = Trackers::for_workspace(&opts.workspace, &embedder)?;
        let (analysed, embedded) = analyse_pending(
            &pending,
            &embedder,
            &heads,
            &trackers,
            &mut store,
            opts.progress,
        )?;
        summary.analysed = analysed;
        summary.sentences_embedded = embedded;
    }
    summary
        .seconds
        .insert("analyse".into(), clock.elapsed().as_secs_f64());

    let messages = store.messages()?;
    let analyses = store.analyses()?;
    summary.signals = analyses.iter().map(|a| a.signals.len()).sum();

    let clock = Instant::now();
    let pending_ids: HashSet<&str> = pending.iter().map(|m| m.id.as_str()).collect();
    update_index(&opts.workspace, &messages, &analyses, &deals, &pending_ids)?;
    summary
        .seconds
        .insert("index".into(), clock.elapsed().as_secs_f64());

    let clock = Instant::now();
    let previous = store.latest_scores()?;
    let scores = score_deals(&deals, &messages, &analyses, opts.as_of)?;
    summary.scored = scores.len();
    store.save_scores(run_id, &scores)?;
    summary
        .seconds
        .insert("predict".into(), clock.elapsed().as_secs_f64());

    let context = EnrichContext {
        as_of: opts.as_of,
        previous: &previous,
        warnings: &WorkspaceConfig::load(&opts.workspace)?.warnings,
    };
    let enriched = enrich(&deals, &messages, &analyses, &scores, &context);
    let probabilities: HashMap<String, f64> = scores
        .iter()
        .map(|s| (s.deal_id.clone(), s.probability))
        .collect();
    summary.forecast = forecast_by_quarter(&deals, &probabilities, &ForecastConfig::default());
    let csv_path = out_dir.join("deals.csv");
    let json_path = out_dir.join("deals.json");
    write_csv(&csv_path, &enriched)?;
    write_json(&json_path, &enriched)?;
    summary.outputs = vec![
        csv_path.display().to_string(),
        json_path.display().to_string(),
    ];

    store.finish_run(
        run_id,
        &serde_json::to_value(&summary).expect("summary serialises"),
    )?;
    Ok((summary, enriched))
}

/// Ingests `sources` into the store: only files the ledger does not know (or
/// that changed) are read; their messages and ledger rows are committed
/// together, so a run killed at any point is finished by the next one, never
/// doubled. Files under `sources` that were read before and are gone now
/// take their messages out of the store and the search index. Returns what
/// was read and how many messages were new.
pub(crate) fn ingest_new(
    store: &mut Store,
    sources: &[PathBuf],
    deals: &[Deal],
    internal: &[String],
    run_id: i64,
) -> Result<(ingest::IngestReport, usize)> {
    let ingest_opts = IngestOptions {
        internal_domains: internal.to_vec(),
        known_files: store.file_records()?,
    };
    let mut report = ingest::read_sources(sources, &ingest_opts)?;
    ingest::attribute(&mut report.messages, deals, internal);
    let new = store.commit_ingest(&report.messages, &report.ledger, run_id)?;
    store.attribute_threads()?;
    let removed = store.forget_missing_files(sources)?;
    if !removed.is_empty() {
        let mut index = SearchIndex::open_or_create(&store_workspace(store).join("index"))?;
        index.remove_messages(&removed)?;
    }
    Ok((report, new))
}

/// The workspace folder a store lives in.
fn store_workspace(store: &Store) -> PathBuf {
    store
        .path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Stores the deals file of `opts` (if any) and returns every stored deal,
/// our own mail domains (command line, `config.json` and the deal owners')
/// and how many rows of the deals file were skipped, each logged with why.
pub(crate) fn load_deals(
    store: &mut Store,
    opts: &RunOptions,
) -> Result<(Vec<Deal>, Vec<String>, usize)> {
    let mut row_errors = 0;
    if let Some(path) = &opts.deals {
        let file = ingest::read_deals(path)?;
        for error in &file.errors {
            tracing::warn!("skipping deal row: {error}");
        }
        row_errors = file.errors.len();
        store.upsert_deals(&file.deals)?;
    }
    let deals = store.deals()?;
    let config = WorkspaceConfig::load(&opts.workspace)?;
    let given: Vec<String> = opts
        .internal_domains
        .iter()
        .chain(&config.internal_domains)
        .cloned()
        .collect();
    let internal = internal_domains(&given, &deals);
    Ok((deals, internal, row_errors))
}

/// Our side of every conversation: the domains given on the command line
/// plus the domains of the deal owners' addresses.
pub(crate) fn internal_domains(given: &[String], deals: &[Deal]) -> Vec<String> {
    let mut domains: Vec<String> = given.iter().map(|d| d.trim().to_lowercase()).collect();
    for deal in deals {
        if let Some((_, domain)) = deal.owner.rsplit_once('@') {
            domains.push(domain.trim().to_lowercase());
        }
    }
    domains.sort();
    domains.dedup();
    domains.retain(|d| !d.is_empty());
    domains
}

fn sentence_key(sentence: &str) -> String {
    hex::encode(Sha256::digest(sentence.as_bytes()))
}

/// Embeds sentences, taking what the store has cached and caching the rest.
fn embed_cached<E: Embedder>(
    sentences: &[String],
    embedder: &E,
    store: &mut Store,
    progress: &ProgressBar,
) -> Result<(HashMap<String, Vec<f32>>, usize)> {
    let keys: Vec<String> = sentences.iter().map(|s| sentence_key(s)).collect();
    let cached = store.cached_embeddings(&keys)?;
    let mut out = HashMap::with_capacity(sentences.len());
    let mut missing = Vec::new();
    for (sentence, key) in sentences.iter().zip(&keys) {
        match cached.get(key) {
            Some(vector) => {
                out.insert(sentence.clone(), vector.clone());
            }
            None => missing.push(sentence.as_str()),
        }
    }
    progress.inc((sentences.len() - missing.len()) as u64);

    // Similar lengths in one batch waste less work on padding.
    missing.sort_by_key(|s| s.len());
    for chunk in missing.chunks(EMBED_CHUNK) {
        let vectors = embedder.embed_passages(chunk)?;
        let to_cache: Vec<(String, Vec<f32>)> = chunk
            .iter()
            .zip(&vectors)
            .map(|(s, v)| (sentence_key(s), v.clone()))
            .collect();
        store.cache_embeddings(&to_cache)?;
        for (sentence, vector) in chunk.iter().zip(vectors) {
            out.insert((*sentence).to_string(), vector);
        }
        progress.inc(chunk.len() as u64);
    }
    Ok((out, missing.len()))
}

fn progress_bar(len: usize, label: &str, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    let style = ProgressStyle::with_template(
        "{msg:>10} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta})",
    )
    .expect("progress template is valid");
    bar.set_style(style);
    bar.set_message(label.to_string());
    bar
}

/// Embeds texts in chunks with a progress bar, without any cache.
pub fn embed_all<E: Embedder>(
    embedder: &E,
    texts: &[String],
    label: &str,
) -> Result<Vec<Vec<f32>>> {
    let bar = progress_bar(texts.len(), label, true);
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(EMBED_CHUNK) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        out.extend(embedder.embed_passages(&refs)?);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// Embeds texts in order through the workspace's embedding cache, so that a
/// second `eval` or `train-signals` over the same sentences skips the encoder.
pub fn embed_all_cached<E: Embedder>(
    workspace: &Path,
    embedder: &E,
    texts: &[String],
    label: &str,
) -> Result<Vec<Vec<f32>>> {
    let mut store = Store::open(workspace)?;
    let bar = progress_bar(texts.len(), label, true);
    let (vectors, embedded) = embed_cached(texts, embedder, &mut store, &bar)?;
    bar.finish_and_clear();
    tracing::info!(
        texts = texts.len(),
        embedded,
        label,
        "embedded through the cache"
    );
    Ok(texts.iter().map(|t| vectors[t].clone()).collect())
}

/// Trains heads on labelled sentences, embedding them through the
/// workspace's cache, and saves them as the workspace's heads.
pub fn train_workspace_heads<E: Embedder>(
    workspace: &Path,
    examples: &[LabelledSentence],
    embedder: &E,
    progress: bool,
) -> Result<Heads> {
    let mut store = Store::open(workspace)?;
    let texts: Vec<String> = examples.iter().map(|e| e.text.clone()).collect();
    let bar = progress_bar(texts.len(), "training", progress);
    let (vectors, _) = embed_cached(&texts, embedder, &mut store, &bar)?;
    bar.finish_and_clear();
    let embeddings: Vec<Vec<f32>> = texts.iter().map(|t| vectors[t].clone()).collect();
    let heads = Heads::train(&embeddings, examples, &TrainConfig::default())?;
    heads.save(&workspace.join("heads"))?;
    tracing::info!(
        sentences = examples.len(),
        "trained signal and sentiment heads"
    );
    Ok(heads)
}

/// The workspace's heads, trained from the bundled sentences on first use.
pub(crate) fn workspace_heads<E: Embedder>(
    workspace: &Path,
    embedder: &E,
    store: &mut Store,
    progress: bool,
) -> Result<Heads> {
    let stem = workspace.join("heads");
    if stem.with_extension("json").exists() {
        return Heads::load(&stem);
    }
    let examples = read_labelled(BUNDLED_SIGNALS, Path::new("fixtures/signals/train.tsv"))?;
    let texts: Vec<String> = examples.iter().map(|e| e.text.clone()).collect();
    let bar = progress_bar(texts.len(), "training", progress);
    let (vectors, _) = embed_cached(&texts, embedder, store, &bar)?;
    bar.finish_and_clear();
    let embeddings: Vec<Vec<f32>> = texts.iter().map(|t| vectors[t].clone()).collect();
    let heads = Heads::train(&embeddings, &examples, &TrainConfig::default())?;
    heads.save(&stem)?;
    tracing::info!(
        sentences = examples.len(),
        "trained signal and sentiment heads"
    );
    Ok(heads)
}

/// Embeds and analyses messages that have no analysis yet; returns how many
/// messages were analysed and how many sentences went through the encoder.
pub(crate) fn analyse_pending<E: Embedder>(
    pending: &[Message],
    embedder: &E,
    heads: &Heads,
    trackers: &Trackers,
    store: &mut Store,
    progress: bool,
) -> Result<(usize, usize)> {
    let limits = AnalyseLimits::default();
    let per_message = nlp::message_sentences(pending, &limits);
    let unique: Vec<String> = per_message
        .iter()
        .flatten()
        .cloned()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    tracing::info!(
        messages = pending.len(),
        sentences = unique.len(),
        "analysing"
    );

    let bar = progress_bar(unique.len(), "embedding", progress);
    let (vectors, embedded) = embed_cached(&unique, embedder, store, &bar)?;
    bar.finish_and_clear();

    let analyses = nlp::analyse(pending, &per_message, &vectors, heads, trackers)?;
    store.save_analyses(&analyses)?;
    Ok((analyses.len(), embedded))
}

/// Brings the search index up to date: messages analysed in this run are
/// (re)indexed with their language, signals and deal. When the index holds a
/// different number of messages than the store (a first run, or a run that
/// was killed between storing and indexing), everything is reindexed.
pub(crate) fn update_index(
    workspace: &Path,
    messages: &[Message],
    analyses: &[Analysis],
    deals: &[Deal],
    analysed_now: &HashSet<&str>,
) -> Result<()> {
    let mut index = SearchIndex::open_or_create(&workspace.join("index"))?;
    let analysis_by_id: HashMap<&str, &Analysis> = analyses
        .iter()
        .map(|a| (a.message_id.as_str(), a))
        .collect();
    let deal_by_id: HashMap<&str, &Deal> = deals.iter().map(|d| (d.id.as_str(), d)).collect();
    let everything = index.num_messages() != messages.len() as u64;
    let docs: Vec<IndexDoc> = messages
        .iter()
        .filter(|m| everything || analysed_now.contains(m.id.as_str()))
        .map(|message| IndexDoc {
            analysis: analysis_by_id.get(message.id.as_str()).copied(),
            deal: message
                .deal_id
                .as_deref()
                .and_then(|id| deal_by_id.get(id).copied()),
            thread_id: message.thread_id.as_deref(),
            attachments: &message.attachments,
            ..IndexDoc::new(message)
        })
        .collect();
    if !docs.is_empty() {
        index.index(&docs)?;
    }
    tracing::info!(
        indexed = docs.len(),
        total = index.num_messages(),
        "search index updated"
    );
    Ok(())
}

/// Trains on closed deals and scores the open ones. With too few closed deals
/// to learn from, no deal gets a probability and the run says why.
fn score_deals(
    deals: &[Deal],
    messages: &[Message],
    analyses: &[Analysis],
    as_of: NaiveDate,
) -> Result<Vec<WinProbability>> {
    let (train_rows, labels) = training_set(deals, messages, analyses, as_of);
    let model = match WinModel::train(&train_rows, &labels) {
        Ok(model) => model,
        Err(error) => {
            tracing::warn!("no win probabilities this run: {error}");
            return Ok(Vec::new());
        }
    };
    tracing::info!(
        closed = labels.len(),
        features = feature_names().len(),
        "trained win model"
    );
    score_open(&model, deals, messages, analyses, as_of)
}

/// The features of every closed deal as it stood when it closed, and
/// whether it was won: what the win model learns from.
pub(crate) fn training_set(
    deals: &[Deal],
    messages: &[Message],
    analyses: &[Analysis],
    as_of: NaiveDate,
) -> (Vec<FeatureRow>, Vec<bool>) {
    let by_deal = messages_by_deal(messages);
    let analysis_by_id: HashMap<String, &Analysis> =
        analyses.iter().map(|a| (a.message_id.clone(), a)).collect();
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for deal in deals.iter().filter(|d| d.outcome != Outcome::Open) {
        let msgs = by_deal.get(deal.id.as_str()).cloned().unwrap_or_default();
        let closed_on = as_of_date(deal, &msgs, as_of);
        rows.push(deal_features(deal, &msgs, &analysis_by_id, closed_on));
        labels.push(deal.outcome == Outcome::Won);
    }
    (rows, labels)
}

/// Scores the open deals as of `as_of` with their top factors in words.
pub(crate) fn score_open(
    model: &WinModel,
    deals: &[Deal],
    messages: &[Message],
    analyses: &[Analysis],
    as_of: NaiveDate,
) -> Result<Vec<WinProbability>> {
    let by_deal = messages_by_deal(messages);
    let analysis_by_id: HashMap<String, &Analysis> =
        analyses.iter().map(|a| (a.message_id.clone(), a)).collect();
    let open_rows: Vec<_> = deals
        .iter()
        .filter(|d| d.outcome == Outcome::Open)
        .map(|deal| {
            let msgs = by_deal.get(deal.id.as_str()).cloned().unwrap_or_default();
            deal_features(deal, &msgs, &analysis_by_id, as_of)
        })
        .collect();
    let mut scores = model.predict(&open_rows)?;
    for (score, row) in scores.iter_mut().zip(&open_rows) {
        for (factor, _) in &mut score.factors {
            let column = feature_names().iter().position(|name| name == factor);
            if let Some(column) = column {
                *factor = describe(factor, row.values[column]);
            }
        }
    }
    Ok(scores)
}

pub(crate) fn messages_by_deal(messages: &[Message]) -> HashMap<&str, Vec<&Message>> {
    let mut by_deal: HashMap<&str, Vec<&Message>> = HashMap::new();
    for message in messages {
        if let Some(deal) = &message.deal_id {
            by_deal.entry(deal.as_str()).or_default().push(message);
        }
    }
    by_deal
}

/// Least-squares slope of sentiment against time, per 30 days.
fn sentiment_slope(points: &[(f64, f32)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_s = points.iter().map(|p| f64::from(p.1)).sum::<f64>() / n;
    let var_t: f64 = points.iter().map(|p| (p.0 - mean_t).powi(2)).sum();
    if var_t == 0.0 {
        return None;
    }
    let cov: f64 = points
        .iter()
        .map(|p| (p.0 - mean_t) * (f64::from(p.1) - mean_s))
        .sum();
    Some(cov / var_t * 30.0)
}

/// What enrichment needs beside the records: the day, the last run's
/// probabilities (for "probability dropped") and the warning thresholds.
pub struct EnrichContext<'a> {
    pub as_of: NaiveDate,
    pub previous: &'a [WinProbability],
    pub warnings: &'a WarningConfig,
}

/// Builds the enriched deal records from what the store holds.
pub fn enrich(
    deals: &[Deal],
    messages: &[Message],
    analyses: &[Analysis],
    scores: &[WinProbability],
    context: &EnrichContext,
) -> Vec<EnrichedDeal> {
    let analysis_by_key: HashMap<String, &Analysis> =
        analyses.iter().map(|a| (a.message_id.clone(), a)).collect();
    let previous_by_deal: HashMap<&str, f64> = context
        .previous
        .iter()
        .map(|s| (s.deal_id.as_str(), s.probability))
        .collect();
    let by_deal = messages_by_deal(messages);
    let analysis_by_id: HashMap<&str, &Analysis> = analyses
        .iter()
        .map(|a| (a.message_id.as_str(), a))
        .collect();
    let score_by_deal: HashMap<&str, &WinProbability> =
        scores.iter().map(|s| (s.deal_id.as_str(), s)).collect();

    deals
        .iter()
        .map(|deal| {
            let mut msgs = by_deal.get(deal.id.as_str()).cloned().unwrap_or_default();
            msgs.sort_by_key(|m| m.date);
            let last_contact = msgs.iter().filter_map(|m| m.date).max();
            let last_customer_contact = msgs
                .iter()
                .filter(|m| m.direction == Direction::Inbound)
                .filter_map(|m| m.date)
                .max();

            let mut points = Vec::new();
            let mut sentiment_series = Vec::new();
            let mut signal_counts = BTreeMap::new();
            let mut signals = Vec::new();
            // Mood and signals are the customer's: what they wrote and what
            // they said on calls, not our own pitch or their auto-replies.
            for message in msgs.iter().filter(|m| customer_voice(m)) {
                let Some(analysis) = analysis_by_id.get(message.id.as_str()) else {
                    continue;
                };
                if let Some(date) = message.date {
                    if !message.new_text.trim().is_empty() {
                        points.push((date.timestamp() as f64 / 86_400.0, analysis.sentiment));
                        sentiment_series.push((date, analysis.sentiment));
                    }
                }
                for signal in &analysis.signals {
                    *signal_counts
                        .entry(signal.kind.as_str().to_string())
                        .or_insert(0) += 1;
                    signals.push(SignalEvidence {
                        kind: signal.kind,
                        date: message.date,
                        sentence: signal.sentence.clone(),
                        score: signal.score,
                    });
                }
            }
            let sentiment_mean = (!points.is_empty())
                .then(|| points.iter().map(|p| p.1).sum::<f32>() / points.len() as f32);
            let score = score_by_deal.get(deal.id.as_str());
            let warnings = deal_warnings(
                deal,
                &msgs,
                &analysis_by_key,
                context.as_of,
                previous_by_deal.get(deal.id.as_str()).copied(),
                score.map(|s| s.probability),
                context.warnings,
            );
            let factors: Vec<(String, f64)> = score.map(|s| s.factors.clone()).unwrap_or_default();
            let next_action = if deal.outcome == Outcome::Open {
                next_action(&warnings, &factors)
            } else {
                String::new()
            };
            EnrichedDeal {
                id: deal.id.clone(),
                name: deal.name.clone(),
                account: deal.account.clone(),
                owner: deal.owner.clone(),
                stage: deal.stage.clone(),
                amount: deal.amount,
                outcome: deal.outcome,
                win_probability: score.map(|s| s.probability),
                messages: msgs.len(),
                last_contact,
                last_customer_contact,
                sentiment_mean,
                sentiment_trend: sentiment_slope(&points),
                signal_counts,
                signals,
                factors: score
                    .map(|s| {
                        s.factors
                            .iter()
                            .map(|(name, weight)| format!("{name} ({weight:+.2})"))
                            .collect()
                    })
                    .unwrap_or_default(),
                warnings,
                next_action,
                sentiment_series,
            }
        })
        .collect()
}

pub(crate) fn write_skipped(path: &Path, skipped: &[ingest::Skipped]) -> Result<()> {
    let mut text = String::from("path\toffset\treason\n");
    for s in skipped {
        let offset = s.source.offset.map(|o| o.to_string()).unwrap_or_default();
        let reason = s.reason.replace(['\t', '\n'], " ");
        text.push_str(&format!("{}\t{offset}\t{reason}\n", s.source.path));
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

pub(crate) fn write_csv(path: &Path, deals: &[EnrichedDeal]) -> Result<()> {
    let to_err = |e: csv::Error| Error::bad_input(path, e.to_string());
    let mut writer = csv::Writer::from_path(path).map_err(to_err)?;
    writer
        .write_record([
            "id",
            "name",
            "account",
            "owner",
            "stage",
            "amount",
            "outcome",
            "win_probability",
            "messages",
            "last_contact",
            "last_customer_contact",
            "sentiment_mean",
            "sentiment_trend_per_30d",
            "signals",
            "factors",
            "warnings",
            "next_action",
        ])
        .map_err(to_err)?;
    let fmt_date = |d: Option<DateTime<Utc>>| d.map(|d| d.to_rfc3339()).unwrap_or_default();
    for d in deals {
        let signals: Vec<String> = d
            .signal_counts
            .iter()
            .map(|(k, n)| format!("{k}:{n}"))
            .collect();
        writer
            .write_record([
                d.id.clone(),
                d.name.clone(),
                d.account.clone(),
                d.owner.clone(),
                d.stage.clone(),
                d.amount.map(|a| a.to_string()).unwrap_or_default(),
                d.outcome.as_str().to_string(),
                d.win_probability
                    .map(|p| format!("{p:.3}"))
                    .unwrap_or_default(),
                d.messages.to_string(),
                fmt_date(d.last_contact),
                fmt_date(d.last_customer_contact),
                d.sentiment_mean
                    .map(|s| format!("{s:.3}"))
                    .unwrap_or_default(),
                d.sentiment_trend
                    .map(|s| format!("{s:.3}"))
                    .unwrap_or_default(),
                signals.join(";"),
                d.factors.join("; "),
                d.warnings
                    .iter()
                    .map(|w| w.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                d.next_action.clone(),
            ])
            .map_err(to_err)?;
    }
    writer.flush().map_err(|e| Error::io(path, e))
}

pub(crate) fn write_json(path: &Path, deals: &[EnrichedDeal]) -> Result<()> {
    let json = serde_json::to_string_pretty(deals).expect("deal records serialise");
    std::fs::write(path, json).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_domains_count_as_internal() {
        let deal = Deal {
            id: "D-1".into(),
            name: "n".into(),
            account: "a".into(),
            contact_domains: vec!["kund.example".into()],
            owner: "Anna.Berg@Brightloop.example".into(),
            stage: "Proposal".into(),
            amount: None,
            created: None,
            close_date: None,
            outcome: Outcome::Open,
        };
        let got = internal_domains(&["extra.example".into()], &[deal]);
        assert_eq!(got, vec!["brightloop.example", "extra.example"]);
    }

    #[test]
    fn sentiment_slope_is_per_thirty_days() {
        let points = [(0.0, -0.5), (30.0, 0.0), (60.0, 0.5)];
        let slope = sentiment_slope(&points).unwrap();
        assert!((slope - 0.5).abs() < 1e-9, "{slope}");
        assert_eq!(sentiment_slope(&[(1.0, 0.2)]), None);
    }
}
