//! The run job.
