//! Sentence-level heads on the frozen encoder: buying signals and sentiment.
//!
//! The encoder turns each sentence into a 384-wide vector; these small
//! Candle layers read that vector. The signal head is multi-label (a sentence
//! can ask for a demo and mention a competitor), with one threshold per
//! signal chosen on a validation split so that a rare signal is not drowned
//! by a common one. The sentiment head is three-way.
//!
//! Training tries a few head shapes (linear or one hidden layer, with or
//! without extra weight on the rare positives) and keeps the one with the
//! best micro-F1 on the validation split; the held-out test set never takes
//! part in that choice.
//!
//! Training data is a TSV of labelled sales sentences
//! (`lang<TAB>labels<TAB>sentiment<TAB>text`); the bundled set lives in
//! `fixtures/signals/` and users can train on their own with the same format.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var, D};
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

    /// Position in negative, neutral, positive order (the probability arrays).
    pub fn index(self) -> usize {
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

/// One shape of signal head that training may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadShape {
    /// Width of the hidden ReLU layer; 0 is a plain linear (logistic) head.
    pub hidden: usize,
    /// Whether each signal's positives weigh `sqrt(negatives / positives)`
    /// in the loss, so that recall on rare kinds is not traded away.
    pub balanced: bool,
}

/// Settings for training; defaults suit a few thousand sentences.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub epochs: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Share of the training sentences held out to choose shape and thresholds.
    pub validation_share: f64,
    /// Shapes tried; the best on validation micro-F1 is kept (ties: the first).
    pub shapes: Vec<HeadShape>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 300,
            learning_rate: 0.02,
            weight_decay: 1e-3,
            validation_share: 0.15,
            shapes: vec![
                HeadShape {
                    hidden: 0,
                    balanced: false,
                },
                HeadShape {
                    hidden: 0,
                    balanced: true,
                },
                HeadShape {
                    hidden: 256,
                    balanced: false,
                },
                HeadShape {
                    hidden: 256,
                    balanced: true,
                },
            ],
        }
    }
}

/// The signal head: logistic, or one hidden ReLU layer before it.
struct SignalHead {
    hidden: Option<Linear>,
    out: Linear,
}

impl Module for SignalHead {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        match &self.hidden {
            Some(hidden) => self.out.forward(&hidden.forward(xs)?.relu()?),
            None => self.out.forward(xs),
        }
    }
}

/// The trained heads plus their thresholds.
pub struct Heads {
    varmap: VarMap,
    signal: SignalHead,
    sentiment: Linear,
    thresholds: Vec<f32>,
    dim: usize,
    shape: HeadShape,
}

#[derive(Serialize, Deserialize)]
struct HeadsMeta {
    dim: usize,
    signals: Vec<String>,
    thresholds: Vec<f32>,
    /// Absent in heads saved before shapes existed: those are linear.
    #[serde(default)]
    hidden: usize,
    #[serde(default)]
    balanced: bool,
}

impl Heads {
    fn build(dim: usize, shape: HeadShape) -> Result<Heads> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let kinds = SignalKind::ALL.len();
        let signal = if shape.hidden == 0 {
            SignalHead {
                hidden: None,
                out: zero_linear(dim, kinds, vb.pp("signal"))?,
            }
        } else {
            SignalHead {
                hidden: Some(seeded_linear(
                    dim,
                    shape.hidden,
                    &varmap,
                    "signal_hidden",
                    1,
                )?),
                out: seeded_linear(shape.hidden, kinds, &varmap, "signal_out", 2)?,
            }
        };
        let sentiment = zero_linear(dim, Sentiment::ALL.len(), vb.pp("sentiment"))?;
        Ok(Heads {
            varmap,
            signal,
            sentiment,
            thresholds: vec![0.5; kinds],
            dim,
            shape,
        })
    }

    /// The head shape training chose.
    pub fn shape(&self) -> HeadShape {
        self.shape
    }

    /// Trains both heads on sentence embeddings (one per example, same order),
    /// trying every shape in `config` and keeping the best on validation.
    pub fn train(
        embeddings: &[Vec<f32>],
        examples: &[LabelledSentence],
        config: &TrainConfig,
    ) -> Result<Heads> {
        let (train_idx, valid_idx) = split_by_hash(examples, config.validation_share);
        let mut best: Option<(f64, Heads)> = None;
        for &shape in &config.shapes {
            let heads =
                Heads::train_shape(embeddings, examples, config, shape, &train_idx, &valid_idx)?;
            let f1 = heads.validation_f1(embeddings, examples, &valid_idx)?;
            tracing::info!(
                hidden = shape.hidden,
                balanced = shape.balanced,
                f1,
                "head shape"
            );
            if best.as_ref().is_none_or(|(b, _)| f1 > *b) {
                best = Some((f1, heads));
            }
        }
        let (f1, heads) = best.ok_or_else(|| Error::Predict("no head shapes to try".into()))?;
        tracing::info!(
            hidden = heads.shape.hidden,
            balanced = heads.shape.balanced,
            validation_f1 = f1,
            "chose signal head"
        );
        Ok(heads)
    }

    /// Micro-F1 of the thresholded signals on the validation rows; 0 without any.
    fn validation_f1(
        &self,
        embeddings: &[Vec<f32>],
        examples: &[LabelledSentence],
        valid_idx: &[usize],
    ) -> Result<f64> {
        if valid_idx.is_empty() {
            return Ok(0.0);
        }
        let rows: Vec<Vec<f32>> = valid_idx.iter().map(|&i| embeddings[i].clone()).collect();
        let predictions = self.predict(&rows)?;
        let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
        for (&i, prediction) in valid_idx.iter().zip(&predictions) {
            for kind in SignalKind::ALL {
                let predicted = prediction.signals.iter().any(|(k, _)| *k == kind);
                let actual = examples[i].labels.contains(&kind);
                tp += usize::from(predicted && actual);
                fp += usize::from(predicted && !actual);
                fn_ += usize::from(!predicted && actual);
            }
        }
        let den = 2 * tp + fp + fn_;
        Ok(if den == 0 {
            0.0
        } else {
            2.0 * tp as f64 / den as f64
        })
    }

    fn train_shape(
        embeddings: &[Vec<f32>],
        examples: &[LabelledSentence],
        config: &TrainConfig,
        shape: HeadShape,
        train_idx: &[usize],
        valid_idx: &[usize],
    ) -> Result<Heads> {
        let dim = embeddings
            .first()
            .map(Vec::len)
            .ok_or_else(|| Error::Predict("no training sentences".into()))?;
        let mut heads = Heads::build(dim, shape)?;

        let x = to_matrix(embeddings, train_idx, dim)?;
        let signal_target = signal_targets(examples, train_idx)?;
        let weights = loss_weights(examples, train_idx, shape.balanced)?;
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
            let signal_loss = weighted_bce(&heads.signal.forward(&x)?, &signal_target, &weights)?;
            let sentiment_loss =
                loss::cross_entropy(&heads.sentiment.forward(&x)?, &sentiment_target)?;
            optimizer.backward_step(&(signal_loss + sentiment_loss)?)?;
        }

        if !valid_idx.is_empty() {
            let valid = to_matrix(embeddings, valid_idx, dim)?;
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
            hidden: self.shape.hidden,
            balanced: self.shape.balanced,
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
        let shape = HeadShape {
            hidden: meta.hidden,
            balanced: meta.balanced,
        };
        let mut heads = Heads::build(meta.dim, shape)?;
        let weights = stem.with_extension("safetensors");
        heads.varmap.load(&weights).map_err(|e| Error::Model {
            path: weights.clone(),
            reason: e.to_string(),
        })?;
        heads.thresholds = meta.thresholds;
        Ok(heads)
    }
}

/// A three-way sentiment head on its own, for training on a set that has
/// sentiment labels but no signal labels (the public tweet sets in `eval`).
pub struct SentimentHead {
    _varmap: VarMap,
    linear: Linear,
    dim: usize,
}

impl SentimentHead {
    /// Softmax regression from zero, full batch, same optimiser as [`Heads`].
    pub fn train(
        embeddings: &[Vec<f32>],
        labels: &[Sentiment],
        config: &TrainConfig,
    ) -> Result<SentimentHead> {
        let dim = embeddings
            .first()
            .map(Vec::len)
            .ok_or_else(|| Error::Predict("no sentiment training sentences".into()))?;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let linear = zero_linear(dim, Sentiment::ALL.len(), vb.pp("sentiment"))?;
        let rows: Vec<usize> = (0..embeddings.len()).collect();
        let x = to_matrix(embeddings, &rows, dim)?;
        let target: Vec<u32> = labels.iter().map(|s| s.index() as u32).collect();
        let target = Tensor::from_vec(target, labels.len(), &Device::Cpu)?;
        let params = candle_nn::ParamsAdamW {
            lr: config.learning_rate,
            weight_decay: config.weight_decay,
            ..Default::default()
        };
        let mut optimizer = candle_nn::AdamW::new(varmap.all_vars(), params)?;
        for _ in 0..config.epochs {
            optimizer.backward_step(&loss::cross_entropy(&linear.forward(&x)?, &target)?)?;
        }
        Ok(SentimentHead {
            _varmap: varmap,
            linear,
            dim,
        })
    }

    /// Probabilities of negative, neutral, positive per embedding.
    pub fn predict(&self, embeddings: &[Vec<f32>]) -> Result<Vec<[f32; 3]>> {
        if embeddings.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<usize> = (0..embeddings.len()).collect();
        let x = to_matrix(embeddings, &rows, self.dim)?;
        let probs = candle_nn::ops::softmax(&self.linear.forward(&x)?, D::Minus1)?;
        Ok(probs
            .to_vec2::<f32>()?
            .into_iter()
            .map(|r| [r[0], r[1], r[2]])
            .collect())
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

/// A linear layer with small fixed-seed random weights, for the hidden
/// layer where a zero start would leave every unit the same. The seed makes
/// training give the same heads on every run.
fn seeded_linear(
    in_dim: usize,
    out_dim: usize,
    varmap: &VarMap,
    name: &str,
    seed: u64,
) -> Result<Linear> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let bound = (1.0 / in_dim as f64).sqrt() as f32;
    let values: Vec<f32> = (0..in_dim * out_dim)
        .map(|_| rng.gen_range(-bound..bound))
        .collect();
    let weight = Var::from_tensor(&Tensor::from_vec(values, (out_dim, in_dim), &Device::Cpu)?)?;
    let bias = Var::zeros(out_dim, DType::F32, &Device::Cpu)?;
    let linear = Linear::new(weight.as_tensor().clone(), Some(bias.as_tensor().clone()));
    let mut data = varmap.data().lock().expect("varmap lock is never poisoned");
    data.insert(format!("{name}.weight"), weight);
    data.insert(format!("{name}.bias"), bias);
    Ok(linear)
}

/// Per-cell loss weights: 1 for negatives, and for positives either 1 or
/// `sqrt(negatives / positives)` of their signal (capped at 10).
fn loss_weights(examples: &[LabelledSentence], rows: &[usize], balanced: bool) -> Result<Tensor> {
    let kinds = SignalKind::ALL.len();
    let mut positive_weight = vec![1f32; kinds];
    if balanced {
        for (k, kind) in SignalKind::ALL.iter().enumerate() {
            let positives = rows
                .iter()
                .filter(|&&i| examples[i].labels.contains(kind))
                .count();
            let negatives = rows.len() - positives;
            if positives > 0 {
                positive_weight[k] = ((negatives as f32 / positives as f32).sqrt()).min(10.0);
            }
        }
    }
    let mut flat = vec![1f32; rows.len() * kinds];
    for (r, &i) in rows.iter().enumerate() {
        for (k, kind) in SignalKind::ALL.iter().enumerate() {
            if examples[i].labels.contains(kind) {
                flat[r * kinds + k] = positive_weight[k];
            }
        }
    }
    Ok(Tensor::from_vec(flat, (rows.len(), kinds), &Device::Cpu)?)
}

/// Binary cross-entropy on logits with a weight per cell, averaged over rows.
fn weighted_bce(logits: &Tensor, target: &Tensor, weights: &Tensor) -> Result<Tensor> {
    let p = candle_nn::ops::sigmoid(logits)?.clamp(1e-7f32, 1.0 - 1e-7)?;
    let positive = (target * p.log()?)?;
    let negative = (target.affine(-1.0, 1.0)? * p.affine(-1.0, 1.0)?.log()?)?;
    let per_cell = ((positive + negative)? * weights)?;
    Ok((per_cell.sum_all()?.neg()? / logits.dim(0)? as f64)?)
}

/// Puts roughly `share` of the examples into validation, stable across runs
/// and machines. The hash is of the first two words, lower-cased: sentences
/// made from one phrasing usually open alike, so they land on the same side,
/// and validation scores phrasings the head has not seen, as the test does.
fn split_by_hash(examples: &[LabelledSentence], share: f64) -> (Vec<usize>, Vec<usize>) {
    let cut = (share.clamp(0.0, 0.9) * 1000.0) as u64;
    (0..examples.len()).partition(|&i| fnv1a(opening(&examples[i].text).as_bytes()) % 1000 >= cut)
}

fn opening(text: &str) -> String {
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
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
