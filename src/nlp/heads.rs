//! Sentence-level heads on the frozen encoder: buying signals and sentiment.
//!
//! The encoder turns each sentence into a 384-wide vector; these small
//! Candle layers read that vector. The signal head is multi-label (a sentence
//! can ask for a demo and mention a competitor), with one threshold per
//! signal chosen on a validation split so that a rare signal is not drowned
//! by a common one. The sentiment head is three-way.
//!
//! Training data is a TSV of labelled sales sentences
//! (`lang<TAB>labels<TAB>sentiment<TAB>text`); the bundled set lives in
//! `fixtures/signals/` and users can train on their own with the same format.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, D};
use candle_nn::{loss, Linear, Module, Optimizer, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use crate::domain::SignalKind;
use crate::error::{Error, Result};

/// The writer's tone in one sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    const ALL: [Sentiment; 3] = [Sentiment::Negative, Sentiment::Neutral, Sentiment::Positive];

    fn index(self) -> usize {
        self as usize
    }

    pub fn parse(text: &str) -> Option<Sentiment> {
        match text.trim().to_ascii_lowercase().as_str() {
            "negative" | "neg" => Some(Sentiment::Negative),
            "neutral" | "neu" => Some(Sentiment::Neutral),
            "positive" | "pos" => Some(Sentiment::Positive),
            _ => None,
        }
    }
}

/// One sentence of training or test data.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledSentence {
    pub lang: String,
    pub labels: Vec<SignalKind>,
    pub sentiment: Sentiment,
    pub text: String,
}

/// Reads labelled sentences; `origin` names the file in errors.
pub fn read_labelled(tsv: &str, origin: &Path) -> Result<Vec<LabelledSentence>> {
    let mut out = Vec::new();
    for (number, line) in tsv.lines().enumerate() {
        let line_no = number + 1;
        if line_no == 1 && line.starts_with("lang\t") || line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| Error::BadRecord {
            path: origin.to_path_buf(),
            record: format!("line {line_no}"),
            reason,
        };
        let cols: Vec<&str> = line.splitn(4, '\t').collect();
        let [lang, labels, sentiment, text] = cols[..] else {
            return Err(bad(format!(
                "expected 4 tab-separated columns, got {}",
                cols.len()
            )));
        };
        let labels = parse_labels(labels).map_err(&bad)?;
        let sentiment = Sentiment::parse(sentiment)
            .ok_or_else(|| bad(format!("unknown sentiment {sentiment:?}")))?;
        out.push(LabelledSentence {
            lang: lang.trim().to_string(),
            labels,
            sentiment,
            text: text.trim().to_string(),
        });
    }
    Ok(out)
}

fn parse_labels(field: &str) -> std::result::Result<Vec<SignalKind>, String> {
    let field = field.trim();
    if field == "none" || field.is_empty() {
        return Ok(Vec::new());
    }
    field
        .split(',')
        .map(|name| SignalKind::parse(name).ok_or_else(|| format!("unknown signal {name:?}")))
        .collect()
}

/// What the heads say about one sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct SentencePrediction {
    /// Signals whose probability passed their threshold, with that probability.
    pub signals: Vec<(SignalKind, f32)>,
    /// Probabilities of negative, neutral, positive.
    pub sentiment: [f32; 3],
}

impl SentencePrediction {
    /// Sentiment as one number in [-1, 1]: P(positive) - P(negative).
    pub fn polarity(&self) -> f32 {
        self.sentiment[2] - self.sentiment[0]
    }
}

/// Settings for training; defaults suit a few thousand sentences.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub epochs: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Share of the training sentences held out to choose thresholds.
    pub validation_share: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 300,
            learning_rate: 0.02,
            weight_decay: 1e-3,
            validation_share: 0.15,
        }
    }
}

/// The trained heads plus their thresholds.
pub struct Heads {
    varmap: VarMap,
    signal: Linear,
    sentiment: Linear,
    thresholds: Vec<f32>,
    dim: usize,
}

#[derive(Serialize, Deserialize)]
struct HeadsMeta {
    dim: usize,
    signals: Vec<String>,
    thresholds: Vec<f32>,
}

impl Heads {
    fn build(dim: usize) -> Result<Heads> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let signal = zero_linear(dim, SignalKind::ALL.len(), vb.pp("signal"))?;
        let sentiment = zero_linear(dim, Sentiment::ALL.len(), vb.pp("sentiment"))?;
        Ok(Heads {
            varmap,
            signal,
            sentiment,
            thresholds: vec![0.5; SignalKind::ALL.len()],
            dim,
        })
    }

    /// Trains both heads on sentence embeddings (one per example, same order).
    pub fn train(
        embeddings: &[Vec<f32>],
        examples: &[LabelledSentence],
        config: &TrainConfig,
    ) -> Result<Heads> {
        let dim = embeddings
            .first()
            .map(Vec::len)
            .ok_or_else(|| Error::Predict("no training sentences".into()))?;
        let (train_idx, valid_idx) = split_by_hash(examples, config.validation_share);
        let mut heads = Heads::build(dim)?;

        let x = to_matrix(embeddings, &train_idx, dim)?;
        let signal_target = signal_targets(examples, &train_idx)?;
        let sentiment_target = Tensor::from_vec(
            train_idx
                .iter()
                .map(|&i| examples[i].sentiment.index() as u32)
                .collect::<Vec<_>>(),
            train_idx.len(),
            &Device::Cpu,
        )?;

        let params = candle_nn::ParamsAdamW {
            lr: config.learning_rate,
            weight_decay: config.weight_decay,
            ..Default::default()
        };
        let mut optimizer = candle_nn::AdamW::new(heads.varmap.all_vars(), params)?;
        for _ in 0..config.epochs {
            let signal_loss =
                loss::binary_cross_entropy_with_logit(&heads.signal.forward(&x)?, &signal_target)?;
            let sentiment_loss =
                loss::cross_entropy(&heads.sentiment.forward(&x)?, &sentiment_target)?;
            optimizer.backward_step(&(signal_loss + sentiment_loss)?)?;
        }

        if !valid_idx.is_empty() {
            let valid = to_matrix(embeddings, &valid_idx, dim)?;
            let probs = heads.signal_probabilities(&valid)?;
            for (k, kind) in SignalKind::ALL.iter().enumerate() {
                let truth: Vec<bool> = valid_idx
                    .iter()
                    .map(|&i| examples[i].labels.contains(kind))
                    .collect();
                let scores: Vec<f32> = probs.iter().map(|row| row[k]).collect();
                heads.thresholds[k] = best_threshold(&scores, &truth);
            }
        }
        Ok(heads)
    }

    fn signal_probabilities(&self, x: &Tensor) -> Result<Vec<Vec<f32>>> {
        let probs = candle_nn::ops::sigmoid(&self.signal.forward(x)?)?;
        Ok(probs.to_vec2::<f32>()?)
    }

    /// Predicts signals and sentiment for each sentence embedding.
    pub fn predict(&self, embeddings: &[Vec<f32>]) -> Result<Vec<SentencePrediction>> {
        if embeddings.is_empty() {
            return Ok(Vec::new());
        }
        let all: Vec<usize> = (0..embeddings.len()).collect();
        let x = to_matrix(embeddings, &all, self.dim)?;
        let signal_probs = self.signal_probabilities(&x)?;
        let sentiment_probs =
            candle_nn::ops::softmax(&self.sentiment.forward(&x)?, D::Minus1)?.to_vec2::<f32>()?;
        Ok(signal_probs
            .into_iter()
            .zip(sentiment_probs)
            .map(|(signal_row, sentiment_row)| SentencePrediction {
                signals: SignalKind::ALL
                    .iter()
                    .zip(&signal_row)
                    .zip(&self.thresholds)
                    .filter(|((_, p), t)| **p >= **t)
                    .map(|((kind, p), _)| (*kind, *p))
                    .collect(),
                sentiment: [sentiment_row[0], sentiment_row[1], sentiment_row[2]],
            })
            .collect())
    }

    pub fn thresholds(&self) -> impl Iterator<Item = (SignalKind, f32)> + '_ {
        SignalKind::ALL
            .iter()
            .copied()
            .zip(self.thresholds.iter().copied())
    }

    /// Saves weights as `<stem>.safetensors` and thresholds as `<stem>.json`.
    pub fn save(&self, stem: &Path) -> Result<()> {
        let weights = stem.with_extension("safetensors");
        self.varmap.save(&weights).map_err(|e| Error::Model {
            path: weights.clone(),
            reason: e.to_string(),
        })?;
        let meta = HeadsMeta {
            dim: self.dim,
            signals: SignalKind::ALL
                .iter()
                .map(|k| k.as_str().to_string())
                .collect(),
            thresholds: self.thresholds.clone(),
        };
        let meta_path = stem.with_extension("json");
        let json = serde_json::to_string_pretty(&meta).expect("heads metadata serialises");
        std::fs::write(&meta_path, json).map_err(|e| Error::io(&meta_path, e))
    }

    /// Loads heads saved by [`Heads::save`].
    pub fn load(stem: &Path) -> Result<Heads> {
        let meta_path = stem.with_extension("json");
        let text = std::fs::read_to_string(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
        let meta: HeadsMeta =
            serde_json::from_str(&text).map_err(|e| Error::bad_input(&meta_path, e.to_string()))?;
        let names: Vec<&str> = SignalKind::ALL.iter().map(|k| k.as_str()).collect();
        if meta.signals != names {
            return Err(Error::bad_input(
                &meta_path,
                "trained for another set of signals; retrain with `dealsignal train-signals`",
            ));
        }
        let mut heads = Heads::build(meta.dim)?;
        let weights = stem.with_extension("safetensors");
        heads.varmap.load(&weights).map_err(|e| Error::Model {
            path: weights.clone(),
            reason: e.to_string(),
        })?;
        heads.thresholds = meta.thresholds;
        Ok(heads)
    }
}

/// A linear layer that starts at zero. Both heads are convex (logistic and
/// softmax regression), so a fixed start loses nothing and makes training
/// give the same heads on every run.
fn zero_linear(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Linear> {
    let weight = vb.get_with_hints((out_dim, in_dim), "weight", candle_nn::init::ZERO)?;
    let bias = vb.get_with_hints(out_dim, "bias", candle_nn::init::ZERO)?;
    Ok(Linear::new(weight, Some(bias)))
}

/// Puts roughly `share` of the examples into validation, chosen by a hash of
/// the text so that the split is stable across runs and machines.
fn split_by_hash(examples: &[LabelledSentence], share: f64) -> (Vec<usize>, Vec<usize>) {
    let cut = (share.clamp(0.0, 0.9) * 1000.0) as u64;
    (0..examples.len()).partition(|&i| fnv1a(examples[i].text.as_bytes()) % 1000 >= cut)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn to_matrix(embeddings: &[Vec<f32>], rows: &[usize], dim: usize) -> Result<Tensor> {
    let mut flat = Vec::with_capacity(rows.len() * dim);
    for &i in rows {
        if embeddings[i].len() != dim {
            return Err(Error::Predict(format!(
                "embedding {i} has width {}, expected {dim}",
                embeddings[i].len()
            )));
        }
        flat.extend_from_slice(&embeddings[i]);
    }
    Ok(Tensor::from_vec(flat, (rows.len(), dim), &Device::Cpu)?)
}

fn signal_targets(examples: &[LabelledSentence], rows: &[usize]) -> Result<Tensor> {
    let kinds = SignalKind::ALL.len();
    let mut flat = vec![0f32; rows.len() * kinds];
    for (r, &i) in rows.iter().enumerate() {
        for label in &examples[i].labels {
            let k = SignalKind::ALL
                .iter()
                .position(|kind| kind == label)
                .unwrap_or(0);
            flat[r * kinds + k] = 1.0;
        }
    }
    Ok(Tensor::from_vec(flat, (rows.len(), kinds), &Device::Cpu)?)
}

/// The threshold with the best F1 on validation; 0.5 when validation has no
/// positives to learn from. Ties go to the higher threshold (fewer false alarms).
fn best_threshold(scores: &[f32], truth: &[bool]) -> f32 {
    if !truth.contains(&true) {
        return 0.5;
    }
    let mut best = (0.0f64, 0.5f32);
    for step in 1..=19 {
        let t = step as f32 * 0.05;
        let f1 = f1_at(scores, truth, t);
        if f1 >= best.0 {
            best = (f1, t);
        }
    }
    best.1
}

fn f1_at(scores: &[f32], truth: &[bool], threshold: f32) -> f64 {
    let mut counts: HashMap<(bool, bool), usize> = HashMap::new();
    for (s, t) in scores.iter().zip(truth) {
        *counts.entry((*s >= threshold, *t)).or_default() += 1;
    }
    let tp = counts.get(&(true, true)).copied().unwrap_or(0) as f64;
    let fp = counts.get(&(true, false)).copied().unwrap_or(0) as f64;
    let fn_ = counts.get(&(false, true)).copied().unwrap_or(0) as f64;
    if tp == 0.0 {
        0.0
    } else {
        2.0 * tp / (2.0 * tp + fp + fn_)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(labels: &[SignalKind], sentiment: Sentiment, text: &str) -> LabelledSentence {
        LabelledSentence {
            lang: "en".into(),
            labels: labels.to_vec(),
            sentiment,
            text: text.into(),
        }
    }

    #[test]
    fn labelled_file_errors_name_the_line() {
        let tsv =
            "lang\tlabels\tsentiment\ttext\nen\tnone\tneutral\tHello\nen\tbudget\tneutral\tX\n";
        let err = read_labelled(tsv, Path::new("train.tsv"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("train.tsv") && err.contains("line 3"), "{err}");
        assert!(err.contains("budget"), "{err}");
    }

    #[test]
    fn labelled_file_reads_multi_labels() {
        let tsv =
            "en\tdemo_request,competitor_mention\tpositive\tCan we see a demo? We also use Acme.";
        let got = read_labelled(tsv, Path::new("x.tsv")).unwrap();
        assert_eq!(
            got[0].labels,
            vec![SignalKind::DemoRequest, SignalKind::CompetitorMention]
        );
        assert_eq!(got[0].sentiment, Sentiment::Positive);
    }

    /// Embeddings where one axis carries the signal and another the tone: the
    /// heads must learn both and find the signal on unseen points.
    #[test]
    fn heads_learn_separable_signals_and_sentiment() {
        let dim = 8;
        let mut embeddings = Vec::new();
        let mut examples = Vec::new();
        for i in 0..200 {
            let has_budget = i % 3 == 0;
            let positive = i % 2 == 0;
            let noise = ((i * 37) % 11) as f32 / 50.0;
            let mut v = vec![noise; dim];
            v[0] = if has_budget { 1.0 } else { -1.0 };
            v[1] = if positive { 1.0 } else { -1.0 };
            embeddings.push(v);
            let labels = if has_budget {
                vec![SignalKind::BudgetApproved]
            } else {
                vec![]
            };
            let tone = if positive {
                Sentiment::Positive
            } else {
                Sentiment::Negative
            };
            examples.push(example(&labels, tone, &format!("sentence {i}")));
        }
        let heads = Heads::train(&embeddings, &examples, &TrainConfig::default()).unwrap();

        let mut probe_yes = vec![0.0; dim];
        probe_yes[0] = 0.9;
        probe_yes[1] = 0.8;
        let mut probe_no = vec![0.0; dim];
        probe_no[0] = -0.9;
        probe_no[1] = -0.8;
        let got = heads.predict(&[probe_yes, probe_no]).unwrap();
        assert!(got[0]
            .signals
            .iter()
            .any(|(k, _)| *k == SignalKind::BudgetApproved));
        assert!(got[1].signals.is_empty(), "{:?}", got[1].signals);
        assert!(got[0].polarity() > 0.5 && got[1].polarity() < -0.5);
    }

    #[test]
    fn saved_heads_predict_the_same() {
        let embeddings: Vec<Vec<f32>> = (0..40)
            .map(|i| vec![(i % 2) as f32, 1.0 - (i % 2) as f32, 0.3])
            .collect();
        let examples: Vec<_> = (0..40)
            .map(|i| {
                let labels = if i % 2 == 1 {
                    vec![SignalKind::Delay]
                } else {
                    vec![]
                };
                example(&labels, Sentiment::Neutral, &format!("s{i}"))
            })
            .collect();
        let heads = Heads::train(&embeddings, &examples, &TrainConfig::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("heads");
        heads.save(&stem).unwrap();
        let loaded = Heads::load(&stem).unwrap();
        assert_eq!(
            heads.predict(&embeddings).unwrap(),
            loaded.predict(&embeddings).unwrap()
        );
    }

    #[test]
    fn best_threshold_prefers_the_cut_that_separates() {
        let scores = [0.1, 0.2, 0.3, 0.72, 0.8, 0.9];
        let truth = [false, false, false, true, true, true];
        let t = best_threshold(&scores, &truth);
        assert!(t > 0.3 && t <= 0.72, "{t}");
    }
}
