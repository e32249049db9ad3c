//! search stage (placeholder until built).
