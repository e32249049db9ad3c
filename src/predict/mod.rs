//! predict stage (placeholder until built).
