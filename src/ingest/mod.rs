//! ingest stage (placeholder until built).
