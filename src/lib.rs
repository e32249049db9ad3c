//! dealsignal: a local-first revenue-intelligence pipeline.
//!
//! Mail and call notes go in; per-deal signals, sentiment trends, a search
//! index and a calibrated win probability come out. Every stage runs on the
//! user's machine and no text leaves it.
//!
//! The stages, each in its own folder:
//! - [`ingest`]: read mailboxes, call notes and CRM deal exports into [`domain`] records.
//! - [`nlp`]: the multilingual encoder, sentiment and buying signals.
//! - [`search`]: the Tantivy full-text index over all communication.
//! - [`predict`]: deal features and the gradient-boosted win model.
//! - [`store`]: the SQLite record of messages, deals, signals and runs.
//! - [`pipeline`]: the `run` job that drives the stages in order.
//! - [`nightly`]: the resumable nightly job, the model registry and its outputs.
//! - [`report`]: the self-contained HTML report of a run.

pub mod config;
pub mod domain;
pub mod error;
pub mod ingest;
pub mod nightly;
pub mod nlp;
pub mod pipeline;
pub mod predict;
pub mod report;
pub mod search;
pub mod store;

pub use error::{Error, Result};
