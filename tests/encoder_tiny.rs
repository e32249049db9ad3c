//! End-to-end checks of the encoder on a tiny random model written into a
//! temp folder: loading, tokenizing, batching, pooling and error reporting,
//! without the real weights.

use std::path::Path;

use dealsignal::nlp::encoder::{
    write_tiny_model, Encoder, Precision, TOKENIZER_FILE, WEIGHTS_FILE,
};

fn tiny_encoder(dir: &Path) -> Encoder {
    write_tiny_model(dir, 42).expect("write tiny model");
    Encoder::load(dir).expect("load tiny model")
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

const TEXTS: &[&str] = &[
    "The budget is approved, we want to sign next week.",
    "Hej! Budgeten är godkänd, vi vill skriva på nästa vecka.",
    "Price is too expensive, competitor is cheaper.",
    "thanks",
    "Legal review of the contract is delayed again, please follow up with procurement \
     and the security team before friday.",
    "",
];

#[test]
fn vectors_have_model_width_and_unit_length() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = tiny_encoder(dir.path());
    let vectors = encoder.embed_passages(TEXTS).unwrap();

    assert_eq!(encoder.dim(), 64);
    assert_eq!(vectors.len(), TEXTS.len());
    for (text, v) in TEXTS.iter().zip(&vectors) {
        assert_eq!(v.len(), encoder.dim(), "{text:?}");
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{text:?} has norm {norm}");
        assert!(
            v.iter().all(|x| x.is_finite()),
            "{text:?} has a non-finite value"
        );
    }
}

#[test]
fn same_input_gives_same_vectors_across_calls_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let first = tiny_encoder(dir.path()).embed_passages(TEXTS).unwrap();
    let again = Encoder::load(dir.path())
        .unwrap()
        .embed_passages(TEXTS)
        .unwrap();
    assert_eq!(first, again);
}

#[test]
fn batched_vectors_equal_one_by_one_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = tiny_encoder(dir.path());
    let batched = encoder.embed_passages(TEXTS).unwrap();
    for (text, together) in TEXTS.iter().zip(&batched) {
        let alone = &encoder.embed_passages(&[text]).unwrap()[0];
        let diff = max_abs_diff(together, alone);
        assert!(
            diff < 1e-5,
            "{text:?}: padding changed the vector by {diff}"
        );
    }
}

#[test]
fn output_order_follows_input_order_not_length_order() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = tiny_encoder(dir.path());
    let forward = encoder.embed_passages(TEXTS).unwrap();
    let reversed: Vec<&str> = TEXTS.iter().rev().copied().collect();
    let backward = encoder.embed_passages(&reversed).unwrap();
    for (i, v) in forward.iter().enumerate() {
        let diff = max_abs_diff(v, &backward[TEXTS.len() - 1 - i]);
        assert!(diff < 1e-5, "text {i} moved: {diff}");
    }
}

#[test]
fn different_texts_give_different_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = tiny_encoder(dir.path());
    let vectors = encoder.embed_passages(TEXTS).unwrap();
    for i in 0..vectors.len() {
        for j in i + 1..vectors.len() {
            let similarity = cosine(&vectors[i], &vectors[j]);
            assert!(
                similarity < 0.9999,
                "texts {i} and {j} collapse: {similarity}"
            );
        }
    }
}

#[test]
fn passage_and_query_prefixes_give_different_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = tiny_encoder(dir.path());
    let text = ["contract signed"];
    let passage = &encoder.embed_passages(&text).unwrap()[0];
    let query = &encoder.embed_queries(&text).unwrap()[0];
    assert!(max_abs_diff(passage, query) > 1e-4);
}

#[test]
fn text_longer_than_position_table_is_cut_to_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = tiny_encoder(dir.path());
    // The tiny model has 128 positions and "passage : " takes two tokens:
    // the long text keeps 126 content tokens, which the head/tail pair below
    // share exactly except for what follows token 126.
    let sentence = "the deal is signed and the budget is approved . ";
    let long = sentence.repeat(60);
    let same_head = format!("{} price", sentence.repeat(13));
    let vectors = encoder
        .embed_passages(&[long.as_str(), same_head.as_str()])
        .unwrap();
    assert_eq!(vectors[0].len(), 64);
    assert!(vectors[0].iter().all(|x| x.is_finite()));
    // 13 sentences of 10 tokens = 130 tokens: also cut, at the same spot.
    let diff = max_abs_diff(&vectors[0], &vectors[1]);
    assert!(diff < 1e-5, "cut texts with the same head differ by {diff}");
}

#[test]
fn empty_input_gives_no_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = tiny_encoder(dir.path());
    assert!(encoder.embed_passages(&[]).unwrap().is_empty());
}

#[test]
fn truncated_weights_file_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), 1).unwrap();
    let weights = dir.path().join(WEIGHTS_FILE);
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();

    let message = Encoder::load(dir.path())
        .err()
        .expect("must fail")
        .to_string();
    assert!(message.contains(WEIGHTS_FILE), "{message}");
    assert!(message.contains("truncated"), "{message}");
}

#[test]
fn corrupt_weights_header_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), 1).unwrap();
    let weights = dir.path().join(WEIGHTS_FILE);
    let mut bytes = std::fs::read(&weights).unwrap();
    bytes[0..4].copy_from_slice(b"XXXX");
    std::fs::write(&weights, &bytes).unwrap();

    let message = Encoder::load(dir.path())
        .err()
        .expect("must fail")
        .to_string();
    assert!(
        message.contains(WEIGHTS_FILE) && message.contains("magic"),
        "{message}"
    );
}

#[test]
fn broken_tokenizer_json_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), 1).unwrap();
    std::fs::write(dir.path().join(TOKENIZER_FILE), "{ not json").unwrap();

    let message = Encoder::load(dir.path())
        .err()
        .expect("must fail")
        .to_string();
    assert!(message.contains(TOKENIZER_FILE), "{message}");
}

#[test]
fn missing_model_folder_error_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-model-here");
    let message = Encoder::load(&missing)
        .err()
        .expect("must fail")
        .to_string();
    assert!(message.contains("no-model-here"), "{message}");
}

#[test]
fn plain_load_uses_f32_precision() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(tiny_encoder(dir.path()).precision(), Precision::F32);
}

#[test]
fn q4_vectors_are_unit_length_and_close_to_f32_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let exact = tiny_encoder(dir.path()).embed_passages(TEXTS).unwrap();
    let q4 = Encoder::load_with(dir.path(), Precision::Q4).unwrap();
    assert_eq!(q4.precision(), Precision::Q4);
    let quantized = q4.embed_passages(TEXTS).unwrap();
    for ((text, a), b) in TEXTS.iter().zip(&exact).zip(&quantized) {
        let norm = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{text:?} has norm {norm}");
        let similarity = cosine(a, b);
        assert!(similarity > 0.98, "{text:?}: Q4 vs F32 cosine {similarity}");
        assert!(
            max_abs_diff(a, b) > 0.0,
            "{text:?}: Q4 gave the F32 vector exactly"
        );
    }
}

#[test]
fn q4_vectors_do_not_depend_on_the_other_texts_of_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_model(dir.path(), 42).unwrap();
    let encoder = Encoder::load_with(dir.path(), Precision::Q4).unwrap();
    let together = encoder.embed_passages(TEXTS).unwrap();
    for (text, vector) in TEXTS.iter().zip(&together) {
        let alone = &encoder.embed_passages(&[text]).unwrap()[0];
        let diff = max_abs_diff(vector, alone);
        assert!(
            diff < 1e-5,
            "{text:?}: neighbours changed the vector by {diff}"
        );
    }
}

#[test]
fn many_texts_spanning_several_passes_keep_their_own_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let encoder = tiny_encoder(dir.path());
    // Enough text for several 512-token passes, with a marker text repeated
    // at different spots: every copy must get the same vector.
    let filler = "the legal review of the contract is delayed again . ".repeat(3);
    let mut texts: Vec<&str> = Vec::new();
    for i in 0..120 {
        texts.push(if i % 37 == 0 {
            "budget approved"
        } else {
            filler.as_str()
        });
    }
    let vectors = encoder.embed_passages(&texts).unwrap();
    let alone = &encoder.embed_passages(&["budget approved"]).unwrap()[0];
    for (i, v) in vectors.iter().enumerate().filter(|(i, _)| i % 37 == 0) {
        assert!(max_abs_diff(v, alone) < 1e-5, "marker text {i} drifted");
    }
}
