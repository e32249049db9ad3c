//! The multilingual sentence encoder: text in, one unit vector per text out.
//!
//! First step of the NLP stage: every message and call note is embedded
//! here, and sentiment, buying signals and semantic search all work on these
//! vectors. The model is multilingual-e5-small (a 12-layer, 384-wide BERT
//! with the XLM-R vocabulary), read from the packed 4-bit file described in
//! [`super::q4file`] and run on the CPU by [`super::bert_q4`], either with
//! the weights dequantized to `f32` or on the 4-bit blocks themselves (see
//! [`Precision`]). Tokenization uses the model's own `tokenizer.json`.
//!
//! E5 expects a role prefix: `"passage: "` for stored text, `"query: "` for
//! search queries. The sentence vector is the mean of the last hidden states
//! over the text's tokens, L2-normalised, so a dot product is a cosine
//! similarity.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tokenizers::{Tokenizer, TruncationParams};
use tracing::{debug, info};

use super::bert_q4::PackedBert;
pub use super::bert_q4::Precision;
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

/// Tokens per forward pass. Texts are packed end to end without padding,
/// so this only sets how large each weight product is. On the 2-core dev
/// machine 512 was as fast as or faster than 1024 and 2048 (perf showed
/// page faults from the larger activation buffers), and 512 rows are still
/// plenty for the matrix kernels. A longer text goes through alone.
const TOKENS_PER_PASS: usize = 512;

/// A loaded encoder. Cheap to share by reference: embedding takes `&self`.
pub struct Encoder {
    model: PackedBert,
    tokenizer: Tokenizer,
    tokenizer_path: PathBuf,
    hidden_size: usize,
    max_tokens: usize,
}

impl Encoder {
    /// Loads `<dir>/e5-small-q4.bin` (or any model in that format saved
    /// under that name, such as [`write_tiny_model`]'s) and
    /// `<dir>/tokenizer.json`, in the default [`Precision`].
    pub fn load(dir: &Path) -> Result<Encoder> {
        Encoder::load_with(dir, Precision::default())
    }

    /// [`Encoder::load`] with a chosen precision. `F32` dequantizes the
    /// layer weights once here (about 85 MB for e5-small); `Q4` multiplies
    /// the file's 4-bit blocks directly. The word embedding table stays in
    /// its stored 4-bit form either way and only looked-up rows are
    /// expanded, which gives exactly the values a full `f32` copy would.
    pub fn load_with(dir: &Path, precision: Precision) -> Result<Encoder> {
        let started = Instant::now();
        let weights_path = dir.join(WEIGHTS_FILE);
        let tokenizer_path = dir.join(TOKENIZER_FILE);
        info!(weights = %weights_path.display(), ?precision, "loading encoder");

        let file = ModelFile::open(&weights_path)?;
        let header = file.header;
        if header.hidden_size % header.num_heads != 0 {
            return Err(Error::Model {
                path: weights_path.clone(),
                reason: format!(
                    "hidden size {} is not a multiple of the {} heads",
                    header.hidden_size, header.num_heads
                ),
            });
        }
        let model = PackedBert::load(&file, precision)?;

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
            hidden_size: header.hidden_size,
            max_tokens,
        })
    }

    /// Embeds stored text (mail bodies, call notes) with E5's `"passage: "`
    /// prefix. One unit vector per text, in the order given.
    ///
    /// Texts longer than 512 tokens are cut at the end. Texts are packed
    /// end to end into passes of [`TOKENS_PER_PASS`] tokens without
    /// padding; attention never crosses from one text into another, so a
    /// text's vector does not depend on its neighbours.
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

    /// The precision the weights were loaded in.
    pub fn precision(&self) -> Precision {
        self.model.precision()
    }

    /// Tokens (specials included, after truncation) each text costs with
    /// `prefix`: what the throughput of a run is measured in.
    pub fn token_counts(&self, prefix: &str, texts: &[&str]) -> Result<Vec<usize>> {
        Ok(self.tokenize(prefix, texts)?.iter().map(Vec::len).collect())
    }

    fn embed_with_prefix(&self, prefix: &str, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let started = Instant::now();
        let token_ids = self.tokenize(prefix, texts)?;

        let mut vectors = Vec::with_capacity(texts.len());
        let mut passes = 0;
        for pass in token_passes(&token_ids) {
            let ids: Vec<&[u32]> = token_ids[pass].iter().map(Vec::as_slice).collect();
            vectors.extend(self.model.embed(&ids)?);
            passes += 1;
        }

        let tokens: usize = token_ids.iter().map(Vec::len).sum();
        info!(
            texts = texts.len(),
            tokens,
            passes,
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
}

/// Splits texts, in order, into consecutive runs of about
/// [`TOKENS_PER_PASS`] tokens; a text longer than that goes alone.
fn token_passes(token_ids: &[Vec<u32>]) -> Vec<std::ops::Range<usize>> {
    let mut passes = Vec::new();
    let mut start = 0;
    let mut tokens = 0;
    for (i, ids) in token_ids.iter().enumerate() {
        if i > start && tokens + ids.len() > TOKENS_PER_PASS {
            passes.push(start..i);
            start = i;
            tokens = 0;
        }
        tokens += ids.len();
    }
    if start < token_ids.len() {
        passes.push(start..token_ids.len());
    }
    passes
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

/// Every tensor an E5S1 BERT file holds, by short name, with its shape.
/// Linear weights are stored `[out, in]`.
fn tensor_layout(h: &Header) -> Vec<(String, Vec<usize>)> {
    let (hidden, ff) = (h.hidden_size, h.intermediate_size);
    let mut layout = vec![
        ("emb.word".to_string(), vec![h.vocab_size, hidden]),
        ("emb.pos".to_string(), vec![h.max_positions, hidden]),
        ("emb.type".to_string(), vec![h.type_vocab_size, hidden]),
        ("emb.ln.w".to_string(), vec![hidden]),
        ("emb.ln.b".to_string(), vec![hidden]),
    ];
    let per_layer: [(&str, Vec<usize>); 16] = [
        ("q.w", vec![hidden, hidden]),
        ("q.b", vec![hidden]),
        ("k.w", vec![hidden, hidden]),
        ("k.b", vec![hidden]),
        ("v.w", vec![hidden, hidden]),
        ("v.b", vec![hidden]),
        ("ao.w", vec![hidden, hidden]),
        ("ao.b", vec![hidden]),
        ("aln.w", vec![hidden]),
        ("aln.b", vec![hidden]),
        ("fi.w", vec![ff, hidden]),
        ("fi.b", vec![ff]),
        ("fo.w", vec![hidden, ff]),
        ("fo.b", vec![hidden]),
        ("oln.w", vec![hidden]),
        ("oln.b", vec![hidden]),
    ];
    for layer in 0..h.num_layers {
        for (name, shape) in &per_layer {
            layout.push((format!("l{layer}.{name}"), shape.clone()));
        }
    }
    layout
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
    for (name, shape) in tensor_layout(&header) {
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
    fn passes_keep_order_cover_every_text_once_and_fit_the_budget() {
        let lengths = [3usize, 500, 40, 40, 7, 3000, 2, 1900, 128];
        let token_ids: Vec<Vec<u32>> = lengths.iter().map(|&n| vec![0; n]).collect();

        let passes = token_passes(&token_ids);
        let covered: Vec<usize> = passes.iter().flat_map(|p| p.clone()).collect();
        assert_eq!(covered, (0..lengths.len()).collect::<Vec<_>>());
        for pass in passes {
            let tokens: usize = lengths[pass.clone()].iter().sum();
            assert!(pass.len() == 1 || tokens <= TOKENS_PER_PASS, "{pass:?}");
        }
    }

    #[test]
    fn many_short_texts_share_passes_up_to_the_token_budget() {
        let token_ids: Vec<Vec<u32>> = (0..500).map(|_| vec![0; 10]).collect();
        let sizes: Vec<usize> = token_passes(&token_ids).iter().map(|p| p.len()).collect();
        let per_pass = TOKENS_PER_PASS / 10;
        assert_eq!(sizes[0], per_pass);
        assert_eq!(sizes.iter().sum::<usize>(), 500);
        assert_eq!(sizes.len(), 500usize.div_ceil(per_pass));
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
        let fo = layout.iter().find(|(name, _)| name == "l2.fo.w").unwrap();
        assert_eq!(fo.1, vec![8, 16]);
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
