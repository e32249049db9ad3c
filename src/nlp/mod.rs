//! The understanding stage: language, sentiment and buying signals per message.
//!
//! It sits between ingest and prediction. Each message's new text (quotes and
//! signature already removed by ingest) is split into sentences, every
//! sentence is embedded by the multilingual encoder, and the [`heads`] turn
//! the embeddings into signals and sentiment. The result is one
//! [`Analysis`] per message, which the store keeps and the predictor reads.
//! The user's [`trackers`] are checked in the same pass, on the same
//! sentences and embeddings.

pub mod bert_q4;
pub mod encoder;
pub mod eval;
pub mod heads;
pub mod q4file;
pub mod text;
pub mod trackers;

use std::collections::HashMap;

use crate::domain::{Analysis, Message, Signal};
use crate::error::Result;
use heads::Heads;
use trackers::Trackers;

/// Anything that turns passages into fixed-width vectors: the real encoder,
/// or a stand-in in tests.
pub trait Embedder {
    /// One L2-normalised vector per text, in order.
    fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
    fn dim(&self) -> usize;
}

impl Embedder for encoder::Encoder {
    fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        encoder::Encoder::embed_passages(self, texts)
    }

    fn dim(&self) -> usize {
        encoder::Encoder::dim(self)
    }
}

/// Limits that keep one huge message (a pasted log, a newsletter) from
/// dominating the run time. Signals sit in the first lines of a reply.
#[derive(Debug, Clone)]
pub struct AnalyseLimits {
    pub max_sentences_per_message: usize,
}

impl Default for AnalyseLimits {
    fn default() -> Self {
        AnalyseLimits {
            max_sentences_per_message: 40,
        }
    }
}

/// The sentences the encoder must see for `messages`, per message, in order.
pub fn message_sentences(messages: &[Message], limits: &AnalyseLimits) -> Vec<Vec<String>> {
    messages
        .iter()
        .map(|m| {
            let mut s = text::sentences(&m.new_text);
            s.truncate(limits.max_sentences_per_message);
            s
        })
        .collect()
}

/// Analyses messages given the embedding of each of their sentences.
///
/// `embeddings` maps sentence text to its vector; it must hold every sentence
/// [`message_sentences`] returned. Keeping the embedding step outside lets the
/// caller cache vectors by sentence and embed in large batches across messages.
/// Tracker hits follow the heads' signals of the same sentence.
pub fn analyse(
    messages: &[Message],
    sentences: &[Vec<String>],
    embeddings: &HashMap<String, Vec<f32>>,
    heads: &Heads,
    trackers: &Trackers,
) -> Result<Vec<Analysis>> {
    let mut out = Vec::with_capacity(messages.len());
    for (message, sentences) in messages.iter().zip(sentences) {
        let vectors: Vec<Vec<f32>> = sentences
            .iter()
            .map(|s| embeddings.get(s).cloned().unwrap_or_default())
            .collect();
        let predictions = heads.predict(&vectors)?;

        let sentiment = if predictions.is_empty() {
            0.0
        } else {
            predictions.iter().map(|p| p.polarity()).sum::<f32>() / predictions.len() as f32
        };
        let mut signals = Vec::new();
        for ((sentence, vector), prediction) in sentences.iter().zip(&vectors).zip(&predictions) {
            let signal = |kind, score, tracker| Signal {
                message_id: message.id.clone(),
                kind,
                sentence: sentence.clone(),
                score,
                tracker,
            };
            for (kind, score) in &prediction.signals {
                signals.push(signal(*kind, *score, None));
            }
            for hit in trackers.matches(sentence, vector) {
                signals.push(signal(hit.kind, hit.score, Some(hit.name)));
            }
        }
        out.push(Analysis {
            message_id: message.id.clone(),
            language: text::language(&message.new_text),
            sentiment,
            signals,
        });
    }
    Ok(out)
}
