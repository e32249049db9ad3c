//! The multilingual sentence encoder: text in, one unit vector per text out.
//!
//! First step of the NLP stage: every message and call note is embedded
//! here, and sentiment, buying signals and semantic search all work on these
//! vectors. The model is multilingual-e5-small (a 12-layer, 384-wide BERT
//! with the XLM-R vocabulary), read from the packed 4-bit file described in
//! [`super::q4file`], dequantized to `f32` and run on the CPU with candle's
//! BERT. Tokenization uses the model's own `tokenizer.json`.
//!
//! E5 expects a role prefix: `"passage: "` for stored text, `"query: "` for
//! search queries. The sentence vector is the mean of the last hidden states
//! over the real (unpadded) tokens, L2-normalised, so a dot product is a
//! cosine similarity.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, HiddenAct, PositionEmbeddingType};
use tokenizers::{Tokenizer, TruncationParams};
use tracing::{debug, info, warn};

use super::q4file::{
    quantize_q4_0, write_model, Header, ModelFile, ModelImage, SpecialTokens, TensorData, VERSION,
};
use crate::error::{Error, Result};

/// File name of the weights inside a model folder.
pub const WEIGHTS_FILE: &str = "e5-small-q4.bin";

/// File name of the tokenizer inside a model folder.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// Longest input in tokens, `<s>` and `</s>` included; the position table
/// of e5-small has exactly this many rows.
const MAX_TOKENS: usize = 512;

/// Upper bound on `texts x padded length` per forward pass. Short texts
/// still share a pass (one weight read for many texts), while long ones go
/// a few at a time: the attention scores grow with the square of the length
/// and 16 texts of 450 tokens ran ~20% slower in one pass than in four.
const BATCH_TOKEN_BUDGET: usize = 2048;

/// Most texts in one forward pass, whatever their length.
const MAX_BATCH_TEXTS: usize = 64;

/// A loaded encoder. Cheap to share by reference: embedding takes `&self`.
pub struct Encoder {
    model: BertModel,
    tokenizer: Tokenizer,
    tokenizer_path: PathBuf,
    pad_id: u32,
    hidden_size: usize,
    max_tokens: usize,
}

impl Encoder {
    /// Loads `<dir>/e5-small-q4.bin` (or any model in that format saved
    /// under that name, such as [`write_tiny_model`]'s) and
    /// `<dir>/tokenizer.json`.
    ///
    /// Weights are dequantized once here, so embedding pays no unpacking
    /// cost; for e5-small that is about 470 MB of `f32`, most of it the
    /// 250k-row word embedding table.
    pub fn load(dir: &Path) -> Result<Encoder> {
        let started = Instant::now();
        let weights_path = dir.join(WEIGHTS_FILE);
        let tokenizer_path = dir.join(TOKENIZER_FILE);
        info!(weights = %weights_path.display(), "loading encoder");

        let file = ModelFile::open(&weights_path)?;
        let header = file.header;
        let model_error = |reason: String| Error::Model {
            path: weights_path.clone(),
            reason,
        };
        if header.hidden_size % header.num_heads != 0 {
            return Err(model_error(format!(
                "hidden size {} is not a multiple of the {} heads",
                header.hidden_size, header.num_heads
            )));
        }

        let device = Device::Cpu;
        let tensors = bert_tensors(&file, &device)?;
        let config = bert_config(&header);
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model =
            BertModel::load(vb, &config).map_err(|e| model_error(format!("building BERT: {e}")))?;

        let max_tokens = MAX_TOKENS.min(header.max_positions);
        let tokenizer = load_tokenizer(&tokenizer_path, max_tokens)?;
        let tokenizer_vocab = tokenizer.get_vocab_size(true);
        if tokenizer_vocab > header.vocab_size {
            return Err(Error::Model {
                path: tokenizer_path,
                reason: format!(
                    "{tokenizer_vocab} tokens but {} has only {} embedding rows",
                    weights_path.display(),
                    header.vocab_size
                ),
            });
        }
        let pad_id = file.specials.pad;
        if tokenizer
            .token_to_id("<pad>")
            .is_some_and(|id| id != pad_id)
        {
            warn!(
                tokenizer = %tokenizer_path.display(),
                pad_id,
                "tokenizer's <pad> id differs from the model file's; padding with the file's"
            );
        }

        info!(
            hidden = header.hidden_size,
            layers = header.num_layers,
            vocab = header.vocab_size,
            seconds = started.elapsed().as_secs_f32(),
            "encoder loaded"
        );
        Ok(Encoder {
            model,
            tokenizer,
            tokenizer_path,
            pad_id,
            hidden_size: header.hidden_size,
            max_tokens,
        })
    }

    /// Embeds stored text (mail bodies, call notes) with E5's `"passage: "`
    /// prefix. One unit vector per text, in the order given.
    ///
    /// Texts longer than 512 tokens are cut at the end; sorting by length
    /// before batching keeps padding (wasted work) small without changing
    /// any result, since padded positions are masked out of attention and
    /// pooling.
    pub fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed_with_prefix("passage: ", texts)
    }

    /// Embeds search queries with E5's `"query: "` prefix, so they land
    /// near the passages that answer them.
    pub fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed_with_prefix("query: ", texts)
    }

    /// Length of every vector this encoder returns.
    pub fn dim(&self) -> usize {
        self.hidden_size
    }

    fn embed_with_prefix(&self, prefix: &str, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let started = Instant::now();
        let token_ids = self.tokenize(prefix, texts)?;

        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| token_ids[i].len());

        let mut vectors = vec![Vec::new(); texts.len()];
        let mut batches = 0;
        for batch in length_batches(&order, &token_ids) {
            let ids: Vec<&[u32]> = batch.iter().map(|&i| token_ids[i].as_slice()).collect();
            let pooled = self.forward(&ids)?;
            for (&i, vector) in batch.iter().zip(pooled) {
                vectors[i] = vector;
            }
            batches += 1;
        }

        let tokens: usize = token_ids.iter().map(Vec::len).sum();
        info!(
            texts = texts.len(),
            tokens,
            batches,
            seconds = started.elapsed().as_secs_f32(),
            "embedded texts"
        );
        Ok(vectors)
    }

    fn tokenize(&self, prefix: &str, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        let mut all = Vec::with_capacity(texts.len());
        for (index, text) in texts.iter().enumerate() {
            let encoding = self
                .tokenizer
                .encode(format!("{prefix}{text}"), true)
                .map_err(|e| Error::Model {
                    path: self.tokenizer_path.clone(),
                    reason: format!("tokenizing text {index}: {e}"),
                })?;
            if !encoding.get_overflowing().is_empty() {
                debug!(
                    index,
                    max_tokens = self.max_tokens,
                    "text cut to the encoder's token limit"
                );
            }
            all.push(encoding.get_ids().to_vec());
        }
        Ok(all)
    }

    /// Runs one padded batch through BERT and mean-pools each row over its
    /// real tokens, returning unit vectors.
    fn forward(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let width = batch.iter().map(|ids| ids.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(batch.len() * width);
        let mut mask = Vec::with_capacity(batch.len() * width);
        for row in batch {
            ids.extend_from_slice(row);
            ids.extend(std::iter::repeat_n(self.pad_id, width - row.len()));
            mask.extend(std::iter::repeat_n(1u32, row.len()));
            mask.extend(std::iter::repeat_n(0u32, width - row.len()));
        }

        let device = &self.model.device;
        let shape = (batch.len(), width);
        let ids = Tensor::from_vec(ids, shape, device)?;
        let mask = Tensor::from_vec(mask, shape, device)?;
        let token_types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &token_types, Some(&mask))?;

        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?;
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
        let unit = mean.broadcast_div(&norms)?;
        Ok(unit.to_vec2::<f32>()?)
    }
}

/// Groups indices (already sorted by token count) into batches that fit
/// [`BATCH_TOKEN_BUDGET`] once padded to their longest member.
fn length_batches<'a>(order: &'a [usize], token_ids: &[Vec<u32>]) -> Vec<&'a [usize]> {
    let mut batches = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && end - start < MAX_BATCH_TEXTS {
            // Sorted ascending, so the newcomer sets the padded width.
            let width = token_ids[order[end]].len();
            if (end - start + 1) * width > BATCH_TOKEN_BUDGET {
                break;
            }
            end += 1;
        }
        batches.push(&order[start..end]);
        start = end;
    }
    batches
}

fn load_tokenizer(path: &Path, max_tokens: usize) -> Result<Tokenizer> {
    let error = |reason: String| Error::Model {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_file() {
        return Err(error("tokenizer file not found".into()));
    }
    let mut tokenizer = Tokenizer::from_file(path).map_err(|e| error(e.to_string()))?;
    let truncation = TruncationParams {
        max_length: max_tokens,
        ..TruncationParams::default()
    };
    tokenizer
        .with_truncation(Some(truncation))
        .map_err(|e| error(e.to_string()))?;
    tokenizer.with_padding(None);
    Ok(tokenizer)
}

/// The BERT configuration the file's header implies. The activation is the
/// exact (erf) GELU, as in the original XLM-R weights.
fn bert_config(header: &Header) -> Config {
    Config {
        vocab_size: header.vocab_size,
        hidden_size: header.hidden_size,
        num_hidden_layers: header.num_layers,
        num_attention_heads: header.num_heads,
        intermediate_size: header.intermediate_size,
        hidden_act: HiddenAct::Gelu,
        hidden_dropout_prob: 0.0,
        max_position_embeddings: header.max_positions,
        type_vocab_size: header.type_vocab_size,
        initializer_range: 0.02,
        layer_norm_eps: header.layer_norm_eps as f64,
        pad_token_id: 1,
        position_embedding_type: PositionEmbeddingType::Absolute,
        use_cache: false,
        classifier_dropout: None,
        model_type: None,
    }
}

/// Maps the file's short tensor names onto the names candle's `BertModel`
/// asks its `VarBuilder` for, with their shapes. Linear weights are stored
/// `[out, in]`, which is also candle's layout.
fn tensor_layout(h: &Header) -> Vec<(String, String, Vec<usize>)> {
    let (hidden, ff) = (h.hidden_size, h.intermediate_size);
    let mut layout = vec![
        (
            "emb.word",
            "embeddings.word_embeddings.weight",
            vec![h.vocab_size, hidden],
        ),
        (
            "emb.pos",
            "embeddings.position_embeddings.weight",
            vec![h.max_positions, hidden],
        ),
        (
            "emb.type",
            "embeddings.token_type_embeddings.weight",
            vec![h.type_vocab_size, hidden],
        ),
        ("emb.ln.w", "embeddings.LayerNorm.weight", vec![hidden]),
        ("emb.ln.b", "embeddings.LayerNorm.bias", vec![hidden]),
    ]
    .into_iter()
    .map(|(ours, theirs, shape)| (ours.to_string(), theirs.to_string(), shape))
    .collect::<Vec<_>>();

    let per_layer: [(&str, &str, Vec<usize>); 16] = [
        ("q.w", "attention.self.query.weight", vec![hidden, hidden]),
        ("q.b", "attention.self.query.bias", vec![hidden]),
        ("k.w", "attention.self.key.weight", vec![hidden, hidden]),
        ("k.b", "attention.self.key.bias", vec![hidden]),
        ("v.w", "attention.self.value.weight", vec![hidden, hidden]),
        ("v.b", "attention.self.value.bias", vec![hidden]),
        (
            "ao.w",
            "attention.output.dense.weight",
            vec![hidden, hidden],
        ),
        ("ao.b", "attention.output.dense.bias", vec![hidden]),
        ("aln.w", "attention.output.LayerNorm.weight", vec![hidden]),
        ("aln.b", "attention.output.LayerNorm.bias", vec![hidden]),
        ("fi.w", "intermediate.dense.weight", vec![ff, hidden]),
        ("fi.b", "intermediate.dense.bias", vec![ff]),
        ("fo.w", "output.dense.weight", vec![hidden, ff]),
        ("fo.b", "output.dense.bias", vec![hidden]),
        ("oln.w", "output.LayerNorm.weight", vec![hidden]),
        ("oln.b", "output.LayerNorm.bias", vec![hidden]),
    ];
    for layer in 0..h.num_layers {
        for (ours, theirs, shape) in &per_layer {
            layout.push((
                format!("l{layer}.{ours}"),
                format!("encoder.layer.{layer}.{theirs}"),
                shape.clone(),
            ));
        }
    }
    layout
}

fn bert_tensors(file: &ModelFile, device: &Device) -> Result<HashMap<String, Tensor>> {
    let mut tensors = HashMap::new();
    for (ours, theirs, shape) in tensor_layout(&file.header) {
        let values = file.to_f32(&ours)?;
        let expected: usize = shape.iter().product();
        if values.len() != expected {
            return Err(Error::Model {
                path: file.path().to_path_buf(),
                reason: format!(
                    "tensor {ours}: {} elements, the header implies {shape:?} = {expected}",
                    values.len()
                ),
            });
        }
        tensors.insert(theirs, Tensor::from_vec(values, shape, device)?);
    }
    Ok(tensors)
}

/// Words of the tiny test vocabulary. Ids follow the four specials, so the
/// first word here is id 4.
const TINY_WORDS: &[&str] = &[
    "passage",
    "query",
    ":",
    ".",
    ",",
    "!",
    "?",
    "-",
    "the",
    "a",
    "an",
    "and",
    "or",
    "but",
    "we",
    "you",
    "they",
    "it",
    "is",
    "are",
    "was",
    "will",
    "would",
    "can",
    "not",
    "no",
    "yes",
    "to",
    "of",
    "in",
    "on",
    "for",
    "with",
    "next",
    "last",
    "this",
    "that",
    "week",
    "month",
    "quarter",
    "year",
    "today",
    "tomorrow",
    "budget",
    "approved",
    "price",
    "pricing",
    "discount",
    "contract",
    "sign",
    "signed",
    "deal",
    "proposal",
    "quote",
    "invoice",
    "legal",
    "review",
    "meeting",
    "call",
    "demo",
    "trial",
    "pilot",
    "license",
    "licenses",
    "seat",
    "seats",
    "team",
    "manager",
    "director",
    "ceo",
    "cfo",
    "procurement",
    "security",
    "competitor",
    "cheaper",
    "expensive",
    "happy",
    "unhappy",
    "great",
    "good",
    "bad",
    "slow",
    "fast",
    "delay",
    "delayed",
    "cancel",
    "cancelled",
    "renewal",
    "renew",
    "churn",
    "risk",
    "ready",
    "send",
    "sent",
    "need",
    "want",
    "like",
    "love",
    "hate",
    "please",
    "thanks",
    "thank",
    "hello",
    "hi",
    "regards",
    "best",
    "follow",
    "up",
    "again",
    "more",
    "less",
    "time",
    "date",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "budgeten",
    "är",
    "godkänd",
    "vi",
    "vill",
    "skriva",
    "på",
    "nästa",
    "vecka",
    "och",
    "inte",
    "avtal",
    "pris",
    "möte",
    "tack",
    "hej",
    "kunden",
    "der",
    "die",
    "das",
    "und",
    "wir",
    "nicht",
    "vertrag",
    "preis",
    "nächste",
    "woche",
    "le",
    "la",
    "les",
    "et",
    "nous",
    "pas",
    "contrat",
    "prix",
    "semaine",
    "prochaine",
    "el",
    "los",
    "y",
    "no",
    "precio",
    "contrato",
    "semana",
    "one",
    "two",
    "three",
    "four",
    "five",
    "ten",
    "hundred",
    "thousand",
    "percent",
    "%",
    "$",
    "€",
    "kr",
    "1",
    "2",
    "3",
    "4",
    "5",
    "10",
    "100",
    "1000",
];

/// Writes a tiny random encoder (64 wide, 2 layers, 4 heads, 128-wide FFN,
/// 128 positions) and a matching word-level `tokenizer.json` into `dir`, so
/// tests can exercise the whole load-tokenize-embed path in milliseconds.
/// The same `seed` gives byte-identical files.
pub fn write_tiny_model(dir: &Path, seed: u64) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let vocab = tiny_vocab();
    write_tiny_tokenizer(&dir.join(TOKENIZER_FILE), &vocab)?;

    let header = Header {
        version: VERSION,
        hidden_size: 64,
        num_layers: 2,
        num_heads: 4,
        intermediate_size: 128,
        vocab_size: vocab.len(),
        max_positions: 128,
        type_vocab_size: 2,
        layer_norm_eps: 1e-5,
        block_len: super::q4file::Q4_0_BLOCK_LEN,
    };
    let mut random = SplitMix64(seed);
    let mut tensors = Vec::new();
    for (name, _, shape) in tensor_layout(&header) {
        let len: usize = shape.iter().product();
        let data = if (name.ends_with(".w") && shape.len() == 2) || name == "emb.word" {
            let values = random.uniform_vec(len, 0.15);
            TensorData::Q4_0 {
                len,
                blocks: quantize_q4_0(&values),
            }
        } else if name.ends_with("ln.w") {
            // LayerNorm gains near one keep activations in a sane range.
            TensorData::F32(
                random
                    .uniform_vec(len, 0.1)
                    .iter()
                    .map(|v| 1.0 + v)
                    .collect(),
            )
        } else if name == "emb.pos" || name == "emb.type" {
            TensorData::F32(random.uniform_vec(len, 0.5))
        } else {
            TensorData::F32(random.uniform_vec(len, 0.05))
        };
        tensors.push((name, data));
    }

    let image = ModelImage {
        header,
        specials: SpecialTokens {
            bos: 0,
            eos: 2,
            pad: 1,
            unk: 3,
        },
        pieces: vocab.iter().map(|w| (w.clone(), 0.0)).collect(),
        tensors,
    };
    write_model(&dir.join(WEIGHTS_FILE), &image)
}

fn tiny_vocab() -> Vec<String> {
    let mut vocab: Vec<String> = ["<s>", "<pad>", "</s>", "<unk>"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for word in TINY_WORDS {
        if !vocab.iter().any(|w| w == word) {
            vocab.push(word.to_string());
        }
    }
    vocab
}

/// A word-level tokenizer: lowercase, split on whitespace and punctuation,
/// XLM-R style `<s> ... </s>` around each text.
fn write_tiny_tokenizer(path: &Path, vocab: &[String]) -> Result<()> {
    let ids: serde_json::Map<String, serde_json::Value> = vocab
        .iter()
        .enumerate()
        .map(|(id, word)| (word.clone(), serde_json::Value::from(id)))
        .collect();
    let special = |id: usize| {
        serde_json::json!({
            "id": id, "content": vocab[id], "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true
        })
    };
    let json = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": (0..4).map(special).collect::<Vec<_>>(),
        "normalizer": { "type": "Lowercase" },
        "pre_tokenizer": { "type": "Whitespace" },
        "post_processor": {
            "type": "RobertaProcessing",
            "sep": ["</s>", 2],
            "cls": ["<s>", 0],
            "trim_offsets": true,
            "add_prefix_space": false
        },
        "decoder": null,
        "model": { "type": "WordLevel", "vocab": ids, "unk_token": "<unk>" }
    });
    let text = serde_json::to_string_pretty(&json).expect("a json! value always serialises");
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// Small, fixed pseudo-random generator (SplitMix64), so a seed gives the
/// same tiny model on every platform and crate version.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[-scale, scale)`.
    fn uniform_vec(&mut self, len: usize, scale: f32) -> Vec<f32> {
        (0..len)
            .map(|_| {
                let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
                (unit * 2.0 - 1.0) * scale
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_token_budget_and_keep_every_index_once() {
        let lengths = [3usize, 500, 40, 40, 7, 300, 2, 128];
        let token_ids: Vec<Vec<u32>> = lengths.iter().map(|&n| vec![0; n]).collect();
        let mut order: Vec<usize> = (0..lengths.len()).collect();
        order.sort_by_key(|&i| lengths[i]);

        let batches = length_batches(&order, &token_ids);
        let mut seen: Vec<usize> = batches.iter().flat_map(|b| b.iter().copied()).collect();
        seen.sort();
        assert_eq!(seen, (0..lengths.len()).collect::<Vec<_>>());
        for batch in batches {
            let width = batch.iter().map(|&i| lengths[i]).max().unwrap();
            assert!(batch.len() == 1 || batch.len() * width <= BATCH_TOKEN_BUDGET);
            assert!(batch.len() <= MAX_BATCH_TEXTS);
        }
    }

    #[test]
    fn many_short_texts_share_batches_up_to_the_text_cap() {
        let token_ids: Vec<Vec<u32>> = (0..150).map(|_| vec![0; 10]).collect();
        let order: Vec<usize> = (0..150).collect();
        let sizes: Vec<usize> = length_batches(&order, &token_ids)
            .iter()
            .map(|b| b.len())
            .collect();
        assert_eq!(
            sizes,
            vec![MAX_BATCH_TEXTS, MAX_BATCH_TEXTS, 150 - 2 * MAX_BATCH_TEXTS]
        );
    }

    #[test]
    fn layout_covers_every_bert_tensor_of_every_layer() {
        let header = Header {
            version: VERSION,
            hidden_size: 8,
            num_layers: 3,
            num_heads: 2,
            intermediate_size: 16,
            vocab_size: 10,
            max_positions: 4,
            type_vocab_size: 2,
            layer_norm_eps: 1e-5,
            block_len: 32,
        };
        let layout = tensor_layout(&header);
        assert_eq!(layout.len(), 5 + 16 * 3);
        let fo = layout
            .iter()
            .find(|(ours, _, _)| ours == "l2.fo.w")
            .unwrap();
        assert_eq!(fo.1, "encoder.layer.2.output.dense.weight");
        assert_eq!(fo.2, vec![8, 16]);
    }

    #[test]
    fn tiny_tokenizer_wraps_known_words_in_s_tags_and_marks_unknown() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_model(dir.path(), 3).unwrap();
        let tokenizer = load_tokenizer(&dir.path().join(TOKENIZER_FILE), 16).unwrap();
        let vocab = tiny_vocab();
        let id = |w: &str| vocab.iter().position(|v| v == w).unwrap() as u32;

        let encoding = tokenizer.encode("passage: Budget zzyzx!", true).unwrap();
        let expected = [0, id("passage"), id(":"), id("budget"), 3, id("!"), 2];
        assert_eq!(encoding.get_ids(), expected);
    }

    #[test]
    fn same_seed_gives_identical_tiny_files_and_other_seed_differs() {
        let read = |seed| {
            let dir = tempfile::tempdir().unwrap();
            write_tiny_model(dir.path(), seed).unwrap();
            std::fs::read(dir.path().join(WEIGHTS_FILE)).unwrap()
        };
        assert_eq!(read(7), read(7));
        assert_ne!(read(7), read(8));
    }
}
