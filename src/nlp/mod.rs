//! nlp stage: the multilingual encoder, sentiment and buying signals.

pub mod encoder;
pub mod q4file;
