//! Throughput benchmark of the sentence encoder on the real e5-small model.
//!
//! Not part of the pipeline: `scripts/bench-encoder` runs it (through
//! `cargo bench --bench encoder -- ARGS`) once per row of its table. It
//! embeds a fixed, generated set of short (~10 token) or long (~60 token)
//! sentences in several languages and prints one tab-separated line:
//! `kind precision threads sentences tokens seconds sentences_per_second
//! peak_rss_mib`. With `--dump FILE` it only writes the sentences, one per
//! line, so another engine can embed exactly the same text.

use std::path::PathBuf;
use std::time::Instant;

use dealsignal::nlp::encoder::{Encoder, Precision};

/// Words per sentence language; the generator picks from them with a
/// fixed stride so every run sees the same, varied text.
const WORDS: &[&[&str]] = &[
    &[
        "the", "budget", "is", "approved", "and", "we", "want", "to", "sign", "next", "week",
        "pricing", "looks", "too", "high", "for", "our", "team", "legal", "review", "of",
        "contract", "delayed", "again", "please", "send", "updated", "quote",
    ],
    &[
        "budgeten",
        "är",
        "godkänd",
        "och",
        "vi",
        "vill",
        "skriva",
        "på",
        "avtalet",
        "nästa",
        "vecka",
        "priset",
        "känns",
        "för",
        "högt",
        "juridiken",
        "granskar",
    ],
    &[
        "das",
        "budget",
        "ist",
        "genehmigt",
        "wir",
        "wollen",
        "den",
        "vertrag",
        "nächste",
        "woche",
        "unterschreiben",
        "der",
        "preis",
        "zu",
        "hoch",
        "für",
        "unser",
        "team",
    ],
    &[
        "le",
        "budget",
        "est",
        "approuvé",
        "nous",
        "voulons",
        "signer",
        "le",
        "contrat",
        "la",
        "semaine",
        "prochaine",
        "prix",
        "trop",
        "élevé",
        "pour",
        "notre",
        "équipe",
    ],
];

fn sentences(kind: &str, count: usize) -> Vec<String> {
    let words_per_sentence = match kind {
        "short" => 7,
        "long" => 42,
        other => panic!("unknown sentence kind {other:?}: use short or long"),
    };
    (0..count)
        .map(|i| {
            let words = WORDS[i % WORDS.len()];
            let mut sentence: Vec<&str> = (0..words_per_sentence)
                .map(|j| words[(i * 7 + j * (i % 5 + 1)) % words.len()])
                .collect();
            sentence[0] = words[i % words.len()];
            format!("{}.", sentence.join(" "))
        })
        .collect()
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut kind = "short".to_string();
    let mut count = 256usize;
    let mut precision = "default".to_string();
    let mut dump: Option<PathBuf> = None;
    let mut model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/multilingual-e5-small");
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--kind" => kind = value(),
            "--count" => count = value().parse().expect("--count takes a number"),
            "--precision" => precision = value(),
            "--model" => model = PathBuf::from(value()),
            "--dump" => dump = Some(PathBuf::from(value())),
            other => panic!("unknown argument {other:?}"),
        }
    }

    let texts = sentences(&kind, count);
    if let Some(path) = dump {
        std::fs::write(&path, texts.join("\n") + "\n").expect("write sentence dump");
        return;
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();

    let encoder = load(&model, &precision);
    // One warm-up pass: first-touch page faults and allocator growth are
    // not what the nightly job pays per sentence.
    encoder
        .embed_passages(&refs[..refs.len().min(32)])
        .expect("warm-up");

    let started = Instant::now();
    let vectors = encoder.embed_passages(&refs).expect("embed");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(vectors.len(), refs.len());

    let threads = candle_core::utils::get_num_threads();
    let tokens: usize = encoder
        .token_counts("passage: ", &refs)
        .expect("count tokens")
        .iter()
        .sum();
    println!(
        "{kind}\t{precision}\t{threads}\t{count}\t{tokens}\t{seconds:.3}\t{:.1}\t{:.0}",
        count as f64 / seconds,
        peak_rss_mib()
    );
}

fn load(model: &std::path::Path, precision: &str) -> Encoder {
    let loaded = match precision {
        "default" => Encoder::load(model),
        "f32" => Encoder::load_with(model, Precision::F32),
        "q4" => Encoder::load_with(model, Precision::Q4),
        other => panic!("unknown precision {other:?}: use default, f32 or q4"),
    };
    loaded.unwrap_or_else(|e| panic!("{precision}: {e}"))
}
