//! A small BERT forward pass over packed, unpadded token rows, with either
//! plain `f32` weights or candle's 4-bit `Q4_0` matrix products.
//!
//! It is the engine under [`super::encoder`]: the encoder tokenizes, this
//! module turns token ids into one mean-pooled, unit-length vector per text.
//! candle's own BERT takes plain `Linear` layers and padded `[batch, len]`
//! inputs; here every text of a pass is laid end to end as rows of one
//! `[tokens, hidden]` matrix, so each weight matrix meets one large product
//! and no padded row is ever computed. Only attention looks at text
//! boundaries: each token attends to the tokens of its own text.
//!
//! The matrix products go through candle's [`QMatMul`], which holds either a
//! dequantized `f32` tensor or the raw `Q4_0` blocks. Everything between the
//! products (bias, GELU, residual + LayerNorm, attention, pooling) is done
//! here on plain slices, fused so each activation is read once per step.

use std::borrow::Cow;
use std::ops::Range;

use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{Device, Module, Tensor};

use super::q4file::{dequantize_q4_0, DType, ModelFile, Q4_0_BLOCK_BYTES, Q4_0_BLOCK_LEN};
use crate::error::{Error, Result};

/// How the encoder's weight matrices are held and multiplied.
///
/// The default is `F32`: on this project's build (no `-C target-cpu`),
/// candle's `Q4_0` dot products fall back to scalar code and ran about 4x
/// slower than the `f32` matrix kernels in `benches/encoder.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Weights dequantized to `f32` once at load: exact products of the
    /// stored values, about 4x the memory of the file's blocks.
    #[default]
    F32,
    /// The file's `Q4_0` blocks used as they are; activations are rounded to
    /// 8 bits per product. Less memory, output within cosine 0.99 of `F32`.
    Q4,
}

/// A linear layer `y = x W^T + b` with `W` stored `[out, in]`.
struct Linear {
    weight: QMatMul,
    bias: Vec<f32>,
    inputs: usize,
}

impl Linear {
    /// `rows x inputs` in, `rows x bias.len()` out, bias not yet added: the
    /// caller fuses it into the step that reads the product next.
    fn product(&self, x: &[f32], rows: usize) -> Result<Vec<f32>> {
        let xs = Tensor::from_slice(x, (rows, self.inputs), &Device::Cpu)?;
        let ys = self.weight.forward(&xs)?;
        Ok(ys.flatten_all()?.to_vec1::<f32>()?)
    }
}

/// LayerNorm gain and bias.
struct Norm {
    gain: Vec<f32>,
    bias: Vec<f32>,
}

struct Layer {
    /// Query, key and value stacked into one `[3 * hidden, hidden]` product.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    ffn_in: Linear,
    ffn_out: Linear,
    ffn_norm: Norm,
}

/// The word embedding table. Kept as stored: a `Q4_0` table is 54 MB where
/// its `f32` copy would be 384 MB, and only the looked-up rows are expanded.
enum WordTable {
    Q4 { blocks: Vec<u8>, row_bytes: usize },
    F32(Vec<f32>),
}

/// Model dimensions the forward pass needs.
#[derive(Debug, Clone, Copy)]
pub struct Dims {
    pub hidden: usize,
    pub heads: usize,
    pub layers: usize,
    pub intermediate: usize,
    pub vocab: usize,
    pub positions: usize,
    pub layer_norm_eps: f32,
}

/// A loaded BERT encoder body: embeddings, layers, mean pooling.
pub struct PackedBert {
    dims: Dims,
    precision: Precision,
    words: WordTable,
    positions: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
}

impl PackedBert {
    /// Reads every tensor the forward pass needs from `file`, using the
    /// E5S1 short names (`emb.word`, `l3.fi.w`, ...).
    pub fn load(file: &ModelFile, precision: Precision) -> Result<PackedBert> {
        let h = file.header;
        let dims = Dims {
            hidden: h.hidden_size,
            heads: h.num_heads,
            layers: h.num_layers,
            intermediate: h.intermediate_size,
            vocab: h.vocab_size,
            positions: h.max_positions,
            layer_norm_eps: h.layer_norm_eps,
        };
        let loader = Loader { file, precision };
        let hidden = dims.hidden;

        let words = loader.word_table(dims)?;
        let positions = loader.vector("emb.pos", dims.positions * hidden)?;
        let token_type = loader.vector("emb.type", h.type_vocab_size * hidden)?;
        let embedding_norm = loader.norm("emb.ln", hidden)?;

        let mut layers = Vec::with_capacity(dims.layers);
        for l in 0..dims.layers {
            let name = |short: &str| format!("l{l}.{short}");
            layers.push(Layer {
                qkv: loader.stacked_linear(
                    &[&name("q"), &name("k"), &name("v")],
                    hidden,
                    hidden,
                )?,
                attention_out: loader.stacked_linear(&[&name("ao")], hidden, hidden)?,
                attention_norm: loader.norm(&name("aln"), hidden)?,
                ffn_in: loader.stacked_linear(&[&name("fi")], dims.intermediate, hidden)?,
                ffn_out: loader.stacked_linear(&[&name("fo")], hidden, dims.intermediate)?,
                ffn_norm: loader.norm(&name("oln"), hidden)?,
            });
        }
        Ok(PackedBert {
            dims,
            precision,
            words,
            positions,
            token_type,
            embedding_norm,
            layers,
        })
    }

    /// The precision the weights were loaded in.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Model dimensions.
    pub fn dims(&self) -> Dims {
        self.dims
    }

    /// Embeds texts given as token ids (specials included, each at most
    /// `positions` long and non-empty), returning one unit vector per text.
    /// All texts go through one pass; the caller decides how many at once.
    pub fn embed(&self, texts: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let hidden = self.dims.hidden;
        let mut segments = Vec::with_capacity(texts.len());
        let mut rows = 0;
        for ids in texts {
            segments.push(rows..rows + ids.len());
            rows += ids.len();
        }

        let mut x = self.embeddings(texts, rows)?;
        let mut context = vec![0f32; rows * hidden];
        for layer in &self.layers {
            let qkv = layer.qkv.product(&x, rows)?;
            attention(
                &qkv,
                &layer.qkv.bias,
                &segments,
                self.dims.heads,
                hidden,
                &mut context,
            );
            let projected = layer.attention_out.product(&context, rows)?;
            add_bias_residual_norm(
                &mut x,
                &projected,
                &layer.attention_out.bias,
                &layer.attention_norm,
                self.dims.layer_norm_eps,
            );

            let mut middle = layer.ffn_in.product(&x, rows)?;
            bias_gelu(&mut middle, &layer.ffn_in.bias);
            let out = layer.ffn_out.product(&middle, rows)?;
            add_bias_residual_norm(
                &mut x,
                &out,
                &layer.ffn_out.bias,
                &layer.ffn_norm,
                self.dims.layer_norm_eps,
            );
        }
        Ok(mean_pool_unit(&x, hidden, &segments))
    }

    /// Word + position + token type 0, then LayerNorm: `rows x hidden`.
    fn embeddings(&self, texts: &[&[u32]], rows: usize) -> Result<Vec<f32>> {
        let hidden = self.dims.hidden;
        let mut x = vec![0f32; rows * hidden];
        let mut out_rows = x.chunks_exact_mut(hidden);
        for (text, ids) in texts.iter().enumerate() {
            if ids.len() > self.dims.positions {
                return Err(Error::Model {
                    path: "<encoder input>".into(),
                    reason: format!(
                        "text {text}: {} tokens, the model has {} positions",
                        ids.len(),
                        self.dims.positions
                    ),
                });
            }
            for (position, &id) in ids.iter().enumerate() {
                let row = out_rows.next().expect("rows counted from the same texts");
                let id = id as usize;
                if id >= self.dims.vocab {
                    return Err(Error::Model {
                        path: "<encoder input>".into(),
                        reason: format!(
                            "text {text}: token id {id} outside the {}-row vocabulary",
                            self.dims.vocab
                        ),
                    });
                }
                match &self.words {
                    WordTable::Q4 { blocks, row_bytes } => {
                        dequantize_q4_0(&blocks[id * row_bytes..(id + 1) * row_bytes], row)
                    }
                    WordTable::F32(table) => {
                        row.copy_from_slice(&table[id * hidden..(id + 1) * hidden])
                    }
                }
                let pos = &self.positions[position * hidden..(position + 1) * hidden];
                for ((v, p), t) in row.iter_mut().zip(pos).zip(&self.token_type[..hidden]) {
                    *v += p + t;
                }
            }
        }
        for row in x.chunks_exact_mut(hidden) {
            normalize_row(row, &self.embedding_norm, self.dims.layer_norm_eps);
        }
        Ok(x)
    }
}

/// Reads tensors by short name, checking each one's size against the
/// header, and builds them in the requested precision.
struct Loader<'a> {
    file: &'a ModelFile,
    precision: Precision,
}

impl Loader<'_> {
    fn error(&self, tensor: &str, reason: String) -> Error {
        Error::Model {
            path: self.file.path().to_path_buf(),
            reason: format!("tensor {tensor}: {reason}"),
        }
    }

    fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>> {
        let values = self.file.to_f32(name)?;
        if values.len() != len {
            let reason = format!("{} elements, the header implies {len}", values.len());
            return Err(self.error(name, reason));
        }
        Ok(values)
    }

    fn norm(&self, prefix: &str, hidden: usize) -> Result<Norm> {
        Ok(Norm {
            gain: self.vector(&format!("{prefix}.w"), hidden)?,
            bias: self.vector(&format!("{prefix}.b"), hidden)?,
        })
    }

    fn word_table(&self, dims: Dims) -> Result<WordTable> {
        let len = dims.vocab * dims.hidden;
        let entry = self.file.tensor("emb.word")?;
        if entry.len != len {
            let reason = format!("{} elements, the header implies {len}", entry.len);
            return Err(self.error("emb.word", reason));
        }
        if entry.dtype == DType::Q4_0 && dims.hidden % Q4_0_BLOCK_LEN == 0 {
            let blocks = self.file.q4_0_blocks("emb.word")?.to_vec();
            let row_bytes = dims.hidden / Q4_0_BLOCK_LEN * Q4_0_BLOCK_BYTES;
            return Ok(WordTable::Q4 { blocks, row_bytes });
        }
        Ok(WordTable::F32(self.file.to_f32("emb.word")?))
    }

    /// One linear layer from `<part>.w` / `<part>.b` tensors stacked along
    /// the output axis (several parts share one product).
    fn stacked_linear(&self, parts: &[&str], out_each: usize, inputs: usize) -> Result<Linear> {
        let mut bias = Vec::with_capacity(parts.len() * out_each);
        for part in parts {
            bias.extend(self.vector(&format!("{part}.b"), out_each)?);
        }
        let names: Vec<String> = parts.iter().map(|p| format!("{p}.w")).collect();
        let outputs = parts.len() * out_each;
        for name in &names {
            let entry = self.file.tensor(name)?;
            if entry.len != out_each * inputs {
                let reason = format!(
                    "{} elements, the header implies {out_each} x {inputs}",
                    entry.len
                );
                return Err(self.error(name, reason));
            }
        }

        let all_q4 = names
            .iter()
            .all(|n| self.file.tensor(n).is_ok_and(|e| e.dtype == DType::Q4_0));
        let weight = if self.precision == Precision::Q4 && all_q4 && inputs % Q4_0_BLOCK_LEN == 0 {
            let mut blocks = Vec::new();
            for name in &names {
                blocks.extend_from_slice(self.file.q4_0_blocks(name)?);
            }
            let storage = QStorage::from_data(Cow::Owned(blocks), &Device::Cpu, GgmlDType::Q4_0)?;
            QMatMul::from_qtensor(QTensor::new(storage, (outputs, inputs))?)?
        } else {
            let mut values = Vec::with_capacity(outputs * inputs);
            for name in &names {
                values.extend(self.file.to_f32(name)?);
            }
            QMatMul::Tensor(Tensor::from_vec(values, (outputs, inputs), &Device::Cpu)?)
        };
        Ok(Linear {
            weight,
            bias,
            inputs,
        })
    }
}

/// Scaled dot-product attention within each text. `qkv` rows are
/// `[query | key | value]` products without their bias, which is added
/// here; `context` receives `rows x hidden`.
fn attention(
    qkv: &[f32],
    bias: &[f32],
    segments: &[Range<usize>],
    heads: usize,
    hidden: usize,
    context: &mut [f32],
) {
    let threads = worker_count(context.len() / hidden);
    if threads <= 1 {
        attention_rows(qkv, bias, segments, heads, hidden, context);
        return;
    }
    // Whole texts per thread, about the same number of tokens each; the
    // threads' context rows are then disjoint, consecutive slices.
    let rows = context.len() / hidden;
    let per_thread = rows.div_ceil(threads);
    let mut groups = Vec::with_capacity(threads);
    let mut start = 0;
    for (i, segment) in segments.iter().enumerate() {
        if segment.end - segments[start].start >= per_thread || i + 1 == segments.len() {
            groups.push(&segments[start..=i]);
            start = i + 1;
        }
    }
    std::thread::scope(|scope| {
        let mut rest = context;
        for group in groups {
            let first = group[0].start;
            let last = group[group.len() - 1].end;
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut((last - first) * hidden);
            rest = tail;
            scope.spawn(move || attention_rows(qkv, bias, group, heads, hidden, mine));
        }
    });
}

/// [`attention`] for consecutive `segments` on one thread; `context` holds
/// just their rows, the first being `segments[0].start`.
fn attention_rows(
    qkv: &[f32],
    bias: &[f32],
    segments: &[Range<usize>],
    heads: usize,
    hidden: usize,
    context: &mut [f32],
) {
    let first_row = segments.first().map_or(0, |s| s.start);
    let head_dim = hidden / heads;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let stride = 3 * hidden;
    let longest = segments.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut keys = vec![0f32; longest * head_dim];
    let mut values = vec![0f32; longest * head_dim];
    let mut query = vec![0f32; head_dim];
    let mut scores = vec![0f32; longest];

    for segment in segments {
        let len = segment.len();
        for head in 0..heads {
            // Gather this head's keys and values contiguously, bias added,
            // so the inner loops below run over dense short rows.
            let q_at = head * head_dim;
            let k_at = hidden + head * head_dim;
            let v_at = 2 * hidden + head * head_dim;
            for (i, row) in segment.clone().enumerate() {
                let src = &qkv[row * stride..(row + 1) * stride];
                let k = &mut keys[i * head_dim..(i + 1) * head_dim];
                let v = &mut values[i * head_dim..(i + 1) * head_dim];
                for d in 0..head_dim {
                    k[d] = src[k_at + d] + bias[k_at + d];
                    v[d] = src[v_at + d] + bias[v_at + d];
                }
            }

            for row in segment.clone() {
                let src = &qkv[row * stride..];
                for d in 0..head_dim {
                    query[d] = (src[q_at + d] + bias[q_at + d]) * scale;
                }
                let scores = &mut scores[..len];
                let mut max = f32::NEG_INFINITY;
                for (s, key) in scores.iter_mut().zip(keys.chunks_exact(head_dim)) {
                    *s = dot(&query, key);
                    max = max.max(*s);
                }
                let mut sum = 0f32;
                for s in scores.iter_mut() {
                    *s = (*s - max).exp();
                    sum += *s;
                }
                let at = (row - first_row) * hidden + q_at;
                let out = &mut context[at..at + head_dim];
                out.fill(0.0);
                for (&p, value) in scores.iter().zip(values.chunks_exact(head_dim)) {
                    for (o, v) in out.iter_mut().zip(value) {
                        *o += p * v;
                    }
                }
                let inverse = 1.0 / sum;
                out.iter_mut().for_each(|o| *o *= inverse);
            }
        }
    }
}

/// Dot product with eight independent partial sums, which the compiler
/// turns into vector lanes.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a_body, a_tail) = a.split_at(a.len() / 8 * 8);
    let (b_body, b_tail) = b.split_at(a_body.len());
    for (x, y) in a_body.chunks_exact(8).zip(b_body.chunks_exact(8)) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    let tail: f32 = a_tail.iter().zip(b_tail).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

/// Fewest rows worth handing to a thread of their own: below this, the
/// thread start (tens of microseconds) costs more than the work.
const MIN_ROWS_PER_THREAD: usize = 32;

/// Threads for the steps between matrix products: the count candle uses
/// for its products (so `RAYON_NUM_THREADS=1` keeps a pass on one core),
/// fewer for small passes.
fn worker_count(rows: usize) -> usize {
    candle_core::utils::get_num_threads()
        .min(rows / MIN_ROWS_PER_THREAD)
        .max(1)
}

/// Runs `step(first_row, rows)` over `x` cut into one run of whole rows
/// per thread.
fn for_row_runs(x: &mut [f32], row_len: usize, step: impl Fn(usize, &mut [f32]) + Sync) {
    let rows = x.len() / row_len;
    let threads = worker_count(rows);
    if threads <= 1 {
        step(0, x);
        return;
    }
    let per_thread = rows.div_ceil(threads);
    let step = &step;
    std::thread::scope(|scope| {
        for (i, run) in x.chunks_mut(per_thread * row_len).enumerate() {
            scope.spawn(move || step(i * per_thread, run));
        }
    });
}

/// `x = LayerNorm(x + y + bias)` row by row.
fn add_bias_residual_norm(x: &mut [f32], y: &[f32], bias: &[f32], norm: &Norm, eps: f32) {
    let hidden = bias.len();
    for_row_runs(x, hidden, |first_row, run| {
        let added = &y[first_row * hidden..first_row * hidden + run.len()];
        for (row, added) in run.chunks_exact_mut(hidden).zip(added.chunks_exact(hidden)) {
            for ((v, a), b) in row.iter_mut().zip(added).zip(bias) {
                *v += a + b;
            }
            normalize_row(row, norm, eps);
        }
    });
}

/// LayerNorm of one row in place.
fn normalize_row(row: &mut [f32], norm: &Norm, eps: f32) {
    let hidden = row.len() as f32;
    let mean = row.iter().sum::<f32>() / hidden;
    let variance = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / hidden;
    let inverse = 1.0 / (variance + eps).sqrt();
    for ((v, g), b) in row.iter_mut().zip(&norm.gain).zip(&norm.bias) {
        *v = (*v - mean) * inverse * g + b;
    }
}

/// `x = GELU(x + bias)` with the exact (erf) GELU of XLM-R.
fn bias_gelu(x: &mut [f32], bias: &[f32]) {
    for_row_runs(x, bias.len(), |_, run| {
        for row in run.chunks_exact_mut(bias.len()) {
            for (v, b) in row.iter_mut().zip(bias) {
                let z = *v + b;
                *v = 0.5 * z * (1.0 + erf(z * std::f32::consts::FRAC_1_SQRT_2));
            }
        }
    });
}

/// erf with an absolute error below 2e-7 (Abramowitz and Stegun 7.1.26),
/// written without library calls so a loop over it vectorizes; the GELU
/// calls it once per FFN activation, 18k times per token.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let magnitude = 1.0 - poly * exp_non_positive(-a * a);
    magnitude.copysign(x)
}

/// `e^x` for `x <= 0` (clamped at -87, where it is below f32's normal
/// range anyway): split into `2^n * e^r` with `|r| <= ln2 / 2`, and a
/// degree-6 polynomial for `e^r`, relative error about 2e-7.
#[inline(always)]
fn exp_non_positive(x: f32) -> f32 {
    const SHIFT: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let x = x.max(-87.0);
    let shifted = x * std::f32::consts::LOG2_E + SHIFT;
    let n = shifted - SHIFT;
    // ln 2 in two parts, the first exact in few bits, so `n * LN2_HIGH`
    // loses nothing and the reduced argument keeps full precision.
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    let r = (x - n * LN2_HIGH) - n * LN2_LOW;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let exponent = (shifted.to_bits() as i32 - SHIFT.to_bits() as i32 + 127) as u32;
    p * f32::from_bits(exponent << 23)
}

/// Mean of each segment's rows, scaled to unit length.
fn mean_pool_unit(x: &[f32], hidden: usize, segments: &[Range<usize>]) -> Vec<Vec<f32>> {
    segments
        .iter()
        .map(|segment| {
            let mut mean = vec![0f32; hidden];
            for row in segment.clone() {
                for (m, v) in mean.iter_mut().zip(&x[row * hidden..(row + 1) * hidden]) {
                    *m += v;
                }
            }
            let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
            let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
            mean.iter_mut().for_each(|v| *v *= scale);
            mean
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_erf_matches_reference_values() {
        // erf at a few points, from tables to 7 digits.
        let table = [
            (0.0f32, 0.0f32),
            (0.1, 0.112_462_9),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (2.0, 0.995_322_3),
            (3.5, 0.999_999_3),
        ];
        for (x, want) in table {
            assert!((erf(x) - want).abs() < 5e-7, "erf({x}) = {}", erf(x));
            assert!((erf(-x) + want).abs() < 5e-7, "erf(-{x}) = {}", erf(-x));
        }
    }

    #[test]
    fn fast_exp_matches_std_over_its_range() {
        let mut x = 0.0f32;
        while x > -80.0 {
            let (got, want) = (exp_non_positive(x), x.exp());
            assert!(
                (got - want).abs() <= want * 1e-6,
                "exp({x}) = {got}, std {want}"
            );
            x -= 0.37;
        }
    }

    #[test]
    fn attention_stays_inside_each_text() {
        // Two texts of one token each: a token attending only to itself
        // gets its own value back, whatever the other text holds.
        let hidden = 4;
        let heads = 2;
        let mut qkv = vec![0f32; 2 * 3 * hidden];
        for (row, value) in [(0usize, 1.0f32), (1, -5.0)] {
            for d in 0..hidden {
                qkv[row * 3 * hidden + d] = 0.3 * d as f32; // query
                qkv[row * 3 * hidden + hidden + d] = 0.7; // key
                qkv[row * 3 * hidden + 2 * hidden + d] = value + d as f32;
            }
        }
        let bias = vec![0f32; 3 * hidden];
        let mut context = vec![0f32; 2 * hidden];
        attention(&qkv, &bias, &[0..1, 1..2], heads, hidden, &mut context);
        assert_eq!(context, vec![1.0, 2.0, 3.0, 4.0, -5.0, -4.0, -3.0, -2.0]);
    }

    #[test]
    fn attention_split_over_threads_equals_one_thread() {
        let (hidden, heads) = (8, 2);
        let lengths = [5usize, 40, 1, 33, 64, 7, 20, 2];
        let mut segments = Vec::new();
        let mut rows = 0;
        for len in lengths {
            segments.push(rows..rows + len);
            rows += len;
        }
        let mut random = 7u32;
        let qkv: Vec<f32> = (0..rows * 3 * hidden)
            .map(|_| {
                random = random.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (random >> 8) as f32 / (1 << 24) as f32 - 0.5
            })
            .collect();
        let bias = vec![0.1f32; 3 * hidden];

        let mut split = vec![0f32; rows * hidden];
        attention(&qkv, &bias, &segments, heads, hidden, &mut split);
        let mut single = vec![0f32; rows * hidden];
        attention_rows(&qkv, &bias, &segments, heads, hidden, &mut single);
        assert_eq!(split, single);
        assert!(single.iter().all(|v| *v != 0.0));
    }

    #[test]
    fn pooled_vector_is_unit_mean_of_its_rows() {
        let x = vec![1.0, 0.0, 3.0, 0.0, 0.0, 2.0];
        let pooled = mean_pool_unit(&x, 2, &[0..2, 2..3]);
        assert_eq!(pooled[0], vec![1.0, 0.0]);
        assert_eq!(pooled[1], vec![0.0, 1.0]);
    }
}
