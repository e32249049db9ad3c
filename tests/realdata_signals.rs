//! Signals and sentiment with the real model: an English-only semantic
//! tracker finds the Swedish and German sentences of the bundled sample that
//! mean the same, and sentiment on the public sets beats both baselines.
#![cfg(feature = "realdata")]

use std::path::{Path, PathBuf};

use dealsignal::ingest::{read_sources, IngestOptions};
use dealsignal::nlp::encoder::Encoder;
use dealsignal::nlp::eval::{evaluate_sentiment_sets, read_sentiment_sets};
use dealsignal::nlp::heads::{read_labelled, Heads, TrainConfig};
use dealsignal::nlp::trackers::{TrackerConfig, Trackers};
use dealsignal::nlp::{message_sentences, text, AnalyseLimits};
use dealsignal::pipeline::{embed_all_cached, BUNDLED_SIGNALS};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn realdata() -> PathBuf {
    let path = repo().join("../shared/realdata");
    assert!(
        path.join("xlmt_umsab_sentiment").exists() && path.join("swe_sentiment_berggren").exists(),
        "real data missing: {} (see ../shared/realdata)",
        path.display()
    );
    path
}

fn encoder() -> Encoder {
    let dir = repo().join("models/multilingual-e5-small");
    assert!(
        dir.join("e5-small-q4.bin").exists(),
        "model missing in {}: run scripts/fetch-model",
        dir.display()
    );
    Encoder::load(&dir).expect("the real model loads")
}

/// A workspace kept between test runs so that its embedding cache spares
/// the encoder on a rerun.
fn cache_workspace() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("realdata-signals-cache")
}

#[test]
fn english_example_tracker_finds_swedish_and_german_sentences_in_the_sample() {
    let encoder = encoder();
    let report = read_sources(
        &[repo().join("fixtures/sample/mail")],
        &IngestOptions::default(),
    )
    .expect("the sample reads");
    let per_message = message_sentences(&report.messages, &AnalyseLimits::default());
    let mut sentences: Vec<String> = per_message.into_iter().flatten().collect();
    sentences.sort();
    sentences.dedup();
    let vectors = embed_all_cached(&cache_workspace(), &encoder, &sentences, "sample").unwrap();

    let config = TrackerConfig::load(&repo().join("fixtures/trackers/trackers.json")).unwrap();
    let trackers = Trackers::prepare(&config, &encoder).unwrap();
    let hits: Vec<(&String, String)> = sentences
        .iter()
        .zip(&vectors)
        .filter(|(s, v)| {
            trackers
                .matches(s, v)
                .iter()
                .any(|h| h.name == "security_review")
        })
        .map(|(s, _)| (s, text::language(s)))
        .collect();
    for (sentence, lang) in &hits {
        eprintln!("hit [{lang}] {sentence}");
    }
    // The similarity of every sentence, to show how far the threshold is
    // from the nearest miss when the default is tuned.
    let mut open = config.clone();
    for spec in &mut open.trackers {
        spec.threshold = Some(-1.0);
    }
    let open = Trackers::prepare(&open, &encoder).unwrap();
    let mut scored: Vec<(f32, &String)> = sentences
        .iter()
        .zip(&vectors)
        .filter_map(|(s, v)| {
            let hits = open.matches(s, v);
            let hit = hits.iter().find(|h| h.name == "security_review")?;
            Some((hit.score, s))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (score, sentence) in scored.iter().take(30) {
        eprintln!("{score:.3} {sentence}");
    }

    let in_lang = |lang: &str, words: &[&str]| {
        hits.iter()
            .any(|(s, l)| l == lang && words.iter().any(|w| s.contains(w)))
    };
    assert!(
        in_lang("sv", &["säkerhetsenkät", "ansvarsbegränsningen"]),
        "no Swedish hit among {} sentences",
        sentences.len()
    );
    assert!(
        in_lang("de", &["Sicherheitsfragebogen", "Haftungsbegrenzung"]),
        "no German hit among {} sentences",
        sentences.len()
    );
    // The tracker is about one step of a deal: it must stay rare.
    assert!(
        hits.len() * 20 < sentences.len(),
        "{} hits in {} sentences is not a tracker but noise",
        hits.len(),
        sentences.len()
    );
}

/// Floors a little below the macro-F1 measured with 500 sentences per split
/// (en .673, de .639, fr .652, es .545, it .585, pt .616, sv .641); the head
/// trained on each set must also beat both baselines on that set.
const TRAINED_FLOORS: [(&str, f64); 7] = [
    ("xlmt/english", 0.63),
    ("xlmt/german", 0.60),
    ("xlmt/french", 0.61),
    ("xlmt/spanish", 0.51),
    ("xlmt/italian", 0.55),
    ("xlmt/portuguese", 0.58),
    ("swe_berggren", 0.60),
];

#[test]
fn sentiment_trained_on_each_real_set_beats_majority_and_lexicon() {
    let encoder = encoder();
    let sets = read_sentiment_sets(&realdata(), 500).unwrap();
    let workspace = cache_workspace();
    let mut embed =
        |texts: &[String], label: &str| embed_all_cached(&workspace, &encoder, texts, label);

    let bundled = read_labelled(BUNDLED_SIGNALS, Path::new("fixtures/signals/train.tsv")).unwrap();
    let texts: Vec<String> = bundled.iter().map(|e| e.text.clone()).collect();
    let shipped = Heads::train(
        &embed(&texts, "bundled").unwrap(),
        &bundled,
        &TrainConfig::default(),
    )
    .unwrap();
    let report = evaluate_sentiment_sets(&sets, &shipped, &mut embed).unwrap();
    eprintln!("{report}");

    assert_eq!(report.rows.len(), TRAINED_FLOORS.len());
    for (row, (name, floor)) in report.rows.iter().zip(TRAINED_FLOORS) {
        assert_eq!(row.name, name);
        let f1 = row.trained.macro_f1;
        assert!(f1 > row.majority.macro_f1, "{name}: {f1:.3} vs majority");
        assert!(f1 > row.lexicon.macro_f1, "{name}: {f1:.3} vs lexicon");
        assert!(f1 >= floor, "{name}: {f1:.3} below the floor {floor}");
    }
}

/// The bar for buying signals on the held-out split: micro-F1 of at
/// least 0.85 overall and 0.75 in every language (measured: 0.937 overall,
/// every language 0.90 or more). The heads are chosen on a validation part of
/// the training file only; the test file plays no part in training.
#[test]
fn signals_on_the_held_out_split_clear_the_bar_in_every_language() {
    let encoder = encoder();
    let train = read_labelled(BUNDLED_SIGNALS, Path::new("fixtures/signals/train.tsv")).unwrap();
    let test = read_labelled(
        dealsignal::pipeline::BUNDLED_SIGNALS_TEST,
        Path::new("fixtures/signals/test.tsv"),
    )
    .unwrap();
    let texts = |set: &[dealsignal::nlp::heads::LabelledSentence]| {
        set.iter().map(|e| e.text.clone()).collect::<Vec<_>>()
    };
    let train_vectors =
        embed_all_cached(&cache_workspace(), &encoder, &texts(&train), "train").unwrap();
    let test_vectors =
        embed_all_cached(&cache_workspace(), &encoder, &texts(&test), "test").unwrap();
    let heads = Heads::train(&train_vectors, &train, &TrainConfig::default()).unwrap();
    let report = dealsignal::nlp::eval::evaluate(&heads, &test, &test_vectors).unwrap();
    println!("{report}");

    let micro = report.micro().f1();
    assert!(micro >= 0.85, "micro-F1 {micro:.3} below 0.85");
    for lang in report.signals.keys() {
        let f1 = report.language_micro(lang).f1();
        assert!(f1 >= 0.75, "{lang}: F1 {f1:.3} below 0.75");
    }
    assert!(report.signals.len() >= 7, "at least seven languages tested");
}
