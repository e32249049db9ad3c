//! store stage (placeholder until built).
