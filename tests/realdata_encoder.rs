#![cfg(feature = "realdata")]
//! Golden checks of the encoder against the real multilingual-e5-small
//! weights in models/multilingual-e5-small (run `scripts/fetch-model` first).
//! Only built with `--features realdata`.

use std::path::PathBuf;

use dealsignal::nlp::encoder::{Encoder, Precision, WEIGHTS_FILE};
use dealsignal::nlp::q4file::{DType, ModelFile};

fn model_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/multilingual-e5-small");
    assert!(
        dir.join(WEIGHTS_FILE).is_file() && dir.join("tokenizer.json").is_file(),
        "model folder {} is missing or incomplete: run scripts/fetch-model first",
        dir.display()
    );
    dir
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn real_model_header_is_e5_small() {
    let file = ModelFile::open(&model_dir().join(WEIGHTS_FILE)).unwrap();
    let h = file.header;
    assert_eq!(
        (
            h.hidden_size,
            h.num_layers,
            h.num_heads,
            h.intermediate_size
        ),
        (384, 12, 12, 1536)
    );
    assert_eq!(
        (h.vocab_size, h.max_positions, h.type_vocab_size),
        (250037, 512, 2)
    );
    assert_eq!(file.specials.pad, 1);
    assert_eq!(file.tensor("emb.word").unwrap().dtype, DType::Q4_0);
    assert_eq!(file.tensor("emb.pos").unwrap().dtype, DType::F32);
}

#[test]
fn swedish_budget_sentence_matches_golden_f32_embedding() {
    let encoder = Encoder::load_with(&model_dir(), Precision::F32).unwrap();
    let text = "Budgeten är godkänd, vi vill skriva på nästa vecka.";
    let vector = &encoder.embed_passages(&[text]).unwrap()[0];

    assert_eq!(vector.len(), 384);
    let golden = [0.04799f32, -0.01718, -0.02284, -0.07061, 0.09887];
    for (i, (got, want)) in vector.iter().zip(golden).enumerate() {
        assert!(
            (got - want).abs() <= 1e-3,
            "component {i}: got {got}, golden {want} (first five: {:?})",
            &vector[..5]
        );
    }
}

#[test]
fn same_meaning_across_languages_scores_above_unrelated_text() {
    let encoder = Encoder::load(&model_dir()).unwrap();
    let texts = [
        "The budget is approved, we want to sign next week.",
        "Budgeten är godkänd, vi vill skriva på nästa vecka.",
        "Das Budget ist genehmigt, wir wollen nächste Woche unterschreiben.",
        "Le budget est approuvé, nous voulons signer la semaine prochaine.",
        "The hiking trail along the river was muddy after the storm.",
        "Mi gato duerme todo el día en el sofá.",
    ];
    let v = encoder.embed_passages(&texts).unwrap();

    let related_floor = [
        cosine(&v[0], &v[1]),
        cosine(&v[0], &v[2]),
        cosine(&v[0], &v[3]),
    ]
    .into_iter()
    .fold(f32::MAX, f32::min);
    let unrelated_ceiling = [
        cosine(&v[0], &v[4]),
        cosine(&v[0], &v[5]),
        cosine(&v[1], &v[4]),
    ]
    .into_iter()
    .fold(f32::MIN, f32::max);
    assert!(
        related_floor > unrelated_ceiling + 0.02,
        "translations {related_floor} not above unrelated {unrelated_ceiling}"
    );
}

#[test]
fn q4_vectors_point_where_f32_vectors_point_in_several_languages() {
    let f32_encoder = Encoder::load_with(&model_dir(), Precision::F32).unwrap();
    let q4_encoder = Encoder::load_with(&model_dir(), Precision::Q4).unwrap();
    let texts = [
        "The budget is approved, we want to sign next week.",
        "Budgeten är godkänd, vi vill skriva på nästa vecka.",
        "Das Budget ist genehmigt, wir wollen nächste Woche unterschreiben.",
        "Le budget est approuvé, nous voulons signer la semaine prochaine.",
        "El precio es demasiado alto para nuestro equipo este trimestre.",
        "Could you send the updated quote and the security questionnaire before Friday?",
    ];
    let exact = f32_encoder.embed_passages(&texts).unwrap();
    let quantized = q4_encoder.embed_passages(&texts).unwrap();
    for ((text, a), b) in texts.iter().zip(&exact).zip(&quantized) {
        let similarity = cosine(a, b);
        assert!(similarity > 0.99, "{text:?}: Q4 vs F32 cosine {similarity}");
    }
}
