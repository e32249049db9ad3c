//! The library's error type.
//!
//! Every variant names the file, record or input it is about, so that a user
//! reading one line of output knows where to look.

use std::path::PathBuf;

/// Errors of the dealsignal library, grouped by the stage that raises them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file that was read but whose content is not what it should be.
    #[error("{path}: {reason}")]
    BadInput { path: PathBuf, reason: String },

    /// One record inside a file (a CSV row, an mbox message) is broken.
    #[error("{path}, record {record}: {reason}")]
    BadRecord {
        path: PathBuf,
        record: String,
        reason: String,
    },

    #[error("model {path}: {reason}")]
    Model { path: PathBuf, reason: String },

    #[error("tensor computation: {0}")]
    Candle(#[from] candle_core::Error),

    #[error("store: {0}")]
    Store(#[from] rusqlite::Error),

    #[error("search index: {0}")]
    Search(#[from] tantivy::TantivyError),

    #[error("query {query:?}: {reason}")]
    Query { query: String, reason: String },

    #[error("prediction: {0}")]
    Predict(String),
}

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn bad_input(path: impl Into<PathBuf>, reason: impl Into<String>) -> Error {
        Error::BadInput {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
