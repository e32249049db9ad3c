//! nlp stage (placeholder until built).
