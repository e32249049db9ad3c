//! Reader and writer for the packed 4-bit encoder file (`E5S1` format).
//!
//! The NLP stage's encoder ([`super::encoder`]) gets its weights from one
//! file: a fixed header with the BERT dimensions, an embedded SentencePiece
//! vocabulary and a normalisation map (both ignored here, since the encoder
//! reads `tokenizer.json`), then a directory of named tensors stored either
//! as little-endian `f32` or as Q4_0 blocks. This module only knows the
//! container; which name feeds which BERT layer is the encoder's business.
//!
//! Q4_0 is the same block layout candle's ggml code uses (an `f16` scale and
//! 16 bytes of nibbles per 32 weights), so both dequantized `f32` values and
//! the raw blocks are offered: the raw blocks can later back a `QMatMul`.
//!
//! The writer exists so tests can make tiny models in the same format.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use half::f16;
use memmap2::Mmap;

use crate::error::{Error, Result};

/// The four bytes every model file starts with.
pub const MAGIC: &[u8; 4] = b"E5S1";

/// Format version this reader understands and the writer produces.
pub const VERSION: u32 = 1;

/// Weights per Q4_0 block.
pub const Q4_0_BLOCK_LEN: usize = 32;

/// Bytes per Q4_0 block: an `f16` scale and 32 four-bit values.
pub const Q4_0_BLOCK_BYTES: usize = 2 + Q4_0_BLOCK_LEN / 2;

/// Tensor data starts at a multiple of this, so an mmap hands out aligned
/// `f32` rows.
const DATA_ALIGN: u64 = 64;

/// The model dimensions stored at the top of the file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    pub version: u32,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub intermediate_size: usize,
    pub vocab_size: usize,
    pub max_positions: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f32,
    /// Quantization block length; the format only defines 32.
    pub block_len: usize,
}

/// The special token ids of the embedded vocabulary.
///
/// Kept because the encoder pads with `pad`, and a model whose embedded
/// vocabulary disagrees with its `tokenizer.json` is worth noticing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialTokens {
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

/// How one tensor's elements are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    Q4_0,
}

impl DType {
    fn code(self) -> u8 {
        match self {
            DType::F32 => 0,
            DType::Q4_0 => 1,
        }
    }

    fn from_code(code: u8) -> Option<DType> {
        match code {
            0 => Some(DType::F32),
            1 => Some(DType::Q4_0),
            _ => None,
        }
    }

    /// Bytes needed for `len` elements, or `None` when Q4_0 gets a length
    /// that is not a whole number of blocks.
    fn byte_len(self, len: usize) -> Option<usize> {
        match self {
            DType::F32 => len.checked_mul(4),
            DType::Q4_0 if len % Q4_0_BLOCK_LEN == 0 => {
                Some(len / Q4_0_BLOCK_LEN * Q4_0_BLOCK_BYTES)
            }
            DType::Q4_0 => None,
        }
    }
}

/// One row of the tensor directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    pub name: String,
    pub dtype: DType,
    /// Number of elements (weights), not bytes.
    pub len: usize,
    /// Byte offset from the start of the file.
    pub offset: usize,
    pub byte_len: usize,
}

/// An opened model file: header, special ids and the tensor directory, with
/// the tensor bytes left in the memory map until someone asks for them.
pub struct ModelFile {
    path: PathBuf,
    map: Mmap,
    pub header: Header,
    pub specials: SpecialTokens,
    pub tensors: Vec<TensorEntry>,
}

impl ModelFile {
    /// Maps `path` and checks that every tensor lies inside the file and has
    /// the size its dtype and element count imply, so a truncated download
    /// fails here, naming the file and the first tensor that is cut off.
    pub fn open(path: &Path) -> Result<ModelFile> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the map is read-only and private; the model files are ours
        // and not rewritten while the process runs.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        let (header, specials, tensors) = parse(&map).map_err(|reason| Error::Model {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(ModelFile {
            path: path.to_path_buf(),
            map,
            header,
            specials,
            tensors,
        })
    }

    /// The file this was read from, for error messages further up.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Looks a tensor up by name; a missing one is an error naming it.
    pub fn tensor(&self, name: &str) -> Result<&TensorEntry> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| self.error(name, "tensor missing from the directory".into()))
    }

    /// The stored bytes of a tensor, whatever its dtype.
    pub fn raw_bytes(&self, name: &str) -> Result<&[u8]> {
        let entry = self.tensor(name)?;
        Ok(&self.map[entry.offset..entry.offset + entry.byte_len])
    }

    /// The raw Q4_0 blocks of a tensor, ready for a ggml-layout `QTensor`.
    pub fn q4_0_blocks(&self, name: &str) -> Result<&[u8]> {
        let entry = self.tensor(name)?;
        if entry.dtype != DType::Q4_0 {
            let reason = format!("stored as {:?}, not Q4_0", entry.dtype);
            return Err(self.error(name, reason));
        }
        self.raw_bytes(name)
    }

    /// A tensor's values as `f32`, dequantizing Q4_0 blocks.
    pub fn to_f32(&self, name: &str) -> Result<Vec<f32>> {
        let entry = self.tensor(name)?;
        let bytes = self.raw_bytes(name)?;
        let mut out = vec![0f32; entry.len];
        match entry.dtype {
            DType::F32 => {
                for (value, chunk) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *value = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                }
            }
            DType::Q4_0 => dequantize_q4_0(bytes, &mut out),
        }
        Ok(out)
    }

    fn error(&self, tensor: &str, reason: String) -> Error {
        Error::Model {
            path: self.path.clone(),
            reason: format!("tensor {tensor}: {reason}"),
        }
    }
}

/// Bounds-checked little-endian reads over the file image.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "file ends at byte {} while reading {what} ({n} bytes at {})",
                self.bytes.len(),
                self.pos
            ));
        };
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, String> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i32(&mut self, what: &str) -> Result<i32, String> {
        Ok(self.u32(what)? as i32)
    }

    fn f32(&mut self, what: &str) -> Result<f32, String> {
        Ok(f32::from_bits(self.u32(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// A count or dimension: stored as i32, must be positive (or zero when
    /// `allow_zero`) to mean anything.
    fn dim(&mut self, what: &str, allow_zero: bool) -> Result<usize, String> {
        let v = self.i32(what)?;
        if v < 0 || (v == 0 && !allow_zero) {
            return Err(format!("{what} is {v}"));
        }
        Ok(v as usize)
    }

    fn id(&mut self, what: &str) -> Result<u32, String> {
        let v = self.i32(what)?;
        u32::try_from(v).map_err(|_| format!("{what} is {v}"))
    }
}

type Parsed = (Header, SpecialTokens, Vec<TensorEntry>);

fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let mut c = Cursor { bytes, pos: 0 };
    if c.take(4, "magic")? != MAGIC {
        return Err("not an E5S1 model file (bad magic)".into());
    }
    let header = Header {
        version: c.u32("version")?,
        hidden_size: c.dim("hidden size", false)?,
        num_layers: c.dim("layer count", false)?,
        num_heads: c.dim("head count", false)?,
        intermediate_size: c.dim("intermediate size", false)?,
        vocab_size: c.dim("vocabulary size", false)?,
        max_positions: c.dim("max positions", false)?,
        type_vocab_size: c.dim("type vocabulary size", false)?,
        layer_norm_eps: c.f32("layer norm eps")?,
        block_len: c.dim("quantization block length", false)?,
    };
    if header.version != VERSION {
        return Err(format!(
            "format version {} (expected {VERSION})",
            header.version
        ));
    }
    if header.block_len != Q4_0_BLOCK_LEN {
        return Err(format!(
            "block length {} (expected {Q4_0_BLOCK_LEN})",
            header.block_len
        ));
    }

    // Embedded SentencePiece vocabulary: we keep only the special ids.
    let pieces = c.dim("piece count", true)?;
    let specials = SpecialTokens {
        bos: c.id("bos id")?,
        eos: c.id("eos id")?,
        pad: c.id("pad id")?,
        unk: c.id("unk id")?,
    };
    let blob_len = c.u64("piece blob length")? as usize;
    let offsets_len = (pieces + 1) * 4;
    let scores_len = pieces * 4;
    c.take(offsets_len + scores_len, "piece offsets and scores")?;
    c.take(blob_len, "piece blob")?;

    // Normalisation map: skipped, tokenizer.json carries its own.
    c.dim("normalisation entry count", true)?;
    let norm_len = c.u32("normalisation map length")? as usize;
    c.take(norm_len, "normalisation map")?;

    let count = c.dim("tensor count", true)?;
    let mut tensors = Vec::with_capacity(count);
    for index in 0..count {
        let entry = read_entry(&mut c, index)?;
        tensors.push(entry);
    }
    Ok((header, specials, tensors))
}

fn read_entry(c: &mut Cursor, index: usize) -> Result<TensorEntry, String> {
    let what = format!("tensor directory entry {index}");
    let name_len = c.u16(&what)? as usize;
    let name = String::from_utf8_lossy(c.take(name_len, &what)?).into_owned();
    let code = c.u8(&what)?;
    let len = c.u32(&what)? as usize;
    let offset = c.u64(&what)?;
    let byte_len = c.u64(&what)?;

    let dtype = DType::from_code(code)
        .ok_or_else(|| format!("tensor {name}: unknown dtype code {code}"))?;
    let expected = dtype
        .byte_len(len)
        .ok_or_else(|| format!("tensor {name}: {len} elements do not fill whole Q4_0 blocks"))?;
    if byte_len != expected as u64 {
        return Err(format!(
            "tensor {name}: directory says {byte_len} bytes, \
             {len} {dtype:?} elements need {expected}"
        ));
    }
    let end = offset.saturating_add(byte_len);
    if end > c.bytes.len() as u64 {
        return Err(format!(
            "tensor {name}: data runs to byte {end} but the file has only {} bytes \
             (truncated download?)",
            c.bytes.len()
        ));
    }
    Ok(TensorEntry {
        name,
        dtype,
        len,
        offset: offset as usize,
        byte_len: expected,
    })
}

/// Expands Q4_0 blocks into `out`; `out.len()` decides how many blocks are
/// read. Byte `j` of a block holds weight `j` in its low nibble and weight
/// `j + 16` in its high nibble; each weight is `(nibble - 8) * scale`.
pub fn dequantize_q4_0(blocks: &[u8], out: &mut [f32]) {
    let half_block = Q4_0_BLOCK_LEN / 2;
    for (block, values) in blocks
        .chunks_exact(Q4_0_BLOCK_BYTES)
        .zip(out.chunks_exact_mut(Q4_0_BLOCK_LEN))
    {
        let scale = f16::from_le_bytes([block[0], block[1]]).to_f32();
        for (j, &byte) in block[2..].iter().enumerate() {
            values[j] = ((byte & 0x0f) as i32 - 8) as f32 * scale;
            values[j + half_block] = ((byte >> 4) as i32 - 8) as f32 * scale;
        }
    }
}

/// Packs values into Q4_0 blocks; `values.len()` must be a multiple of 32.
///
/// The scale maps the block's largest-magnitude value onto -8, the one end
/// of the 4-bit range that has no positive twin, so that value is exact.
pub fn quantize_q4_0(values: &[f32]) -> Vec<u8> {
    assert!(
        values.len() % Q4_0_BLOCK_LEN == 0,
        "Q4_0 needs whole 32-value blocks"
    );
    let half_block = Q4_0_BLOCK_LEN / 2;
    let mut out = Vec::with_capacity(values.len() / Q4_0_BLOCK_LEN * Q4_0_BLOCK_BYTES);
    for block in values.chunks_exact(Q4_0_BLOCK_LEN) {
        let extreme = block
            .iter()
            .copied()
            .fold(0f32, |acc, v| if v.abs() > acc.abs() { v } else { acc });
        let scale = f16::from_f32(extreme / -8.0);
        let inverse = if scale.to_f32() == 0.0 {
            0.0
        } else {
            1.0 / scale.to_f32()
        };
        let nibble = |v: f32| ((v * inverse).round() + 8.0).clamp(0.0, 15.0) as u8;
        out.extend_from_slice(&scale.to_le_bytes());
        for j in 0..half_block {
            out.push(nibble(block[j]) | (nibble(block[j + half_block]) << 4));
        }
    }
    out
}

/// Tensor contents for [`write_model`].
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    /// Already packed blocks (see [`quantize_q4_0`]) and the element count.
    Q4_0 {
        len: usize,
        blocks: Vec<u8>,
    },
}

impl TensorData {
    fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::Q4_0 { .. } => DType::Q4_0,
        }
    }

    fn len(&self) -> usize {
        match self {
            TensorData::F32(values) => values.len(),
            TensorData::Q4_0 { len, .. } => *len,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            TensorData::F32(values) => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            TensorData::Q4_0 { blocks, .. } => blocks.clone(),
        }
    }
}

/// Everything [`write_model`] puts in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelImage {
    pub header: Header,
    pub specials: SpecialTokens,
    /// Embedded vocabulary pieces with their unigram scores. Readers here
    /// skip them, but the C engine the format comes from tokenizes with them.
    pub pieces: Vec<(String, f32)>,
    pub tensors: Vec<(String, TensorData)>,
}

/// Writes `image` to `path` in the `E5S1` format (an empty normalisation
/// map, tensor data 64-byte aligned), mainly so tests can build tiny models.
pub fn write_model(path: &Path, image: &ModelImage) -> Result<()> {
    let bytes = encode(image).map_err(|reason| Error::Model {
        path: path.to_path_buf(),
        reason,
    })?;
    let mut file = File::create(path).map_err(|e| Error::io(path, e))?;
    file.write_all(&bytes).map_err(|e| Error::io(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))
}

fn encode(image: &ModelImage) -> Result<Vec<u8>, String> {
    let h = &image.header;
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&h.version.to_le_bytes());
    for dim in [
        h.hidden_size,
        h.num_layers,
        h.num_heads,
        h.intermediate_size,
        h.vocab_size,
        h.max_positions,
        h.type_vocab_size,
    ] {
        out.extend_from_slice(&(dim as i32).to_le_bytes());
    }
    out.extend_from_slice(&h.layer_norm_eps.to_le_bytes());
    out.extend_from_slice(&(h.block_len as i32).to_le_bytes());

    let s = &image.specials;
    out.extend_from_slice(&(image.pieces.len() as i32).to_le_bytes());
    for id in [s.bos, s.eos, s.pad, s.unk] {
        out.extend_from_slice(&(id as i32).to_le_bytes());
    }
    let blob: Vec<u8> = image.pieces.iter().flat_map(|(p, _)| p.bytes()).collect();
    out.extend_from_slice(&(blob.len() as u64).to_le_bytes());
    let mut offset = 0u32;
    out.extend_from_slice(&offset.to_le_bytes());
    for (piece, _) in &image.pieces {
        offset += piece.len() as u32;
        out.extend_from_slice(&offset.to_le_bytes());
    }
    for (_, score) in &image.pieces {
        out.extend_from_slice(&score.to_le_bytes());
    }
    out.extend_from_slice(&blob);

    // Empty normalisation map: no entries, no bytes.
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());

    // The directory's size is known before any offset is, so lay data out
    // right after it.
    let dir_len: usize = 4 + image
        .tensors
        .iter()
        .map(|(name, _)| 2 + name.len() + 1 + 4 + 8 + 8)
        .sum::<usize>();
    let mut data_at = align((out.len() + dir_len) as u64);
    let mut layout = Vec::with_capacity(image.tensors.len());
    out.extend_from_slice(&(image.tensors.len() as i32).to_le_bytes());
    for (name, data) in &image.tensors {
        let dtype = data.dtype();
        let byte_len = dtype
            .byte_len(data.len())
            .ok_or_else(|| format!("tensor {name}: length {} is not whole blocks", data.len()))?;
        let bytes = data.bytes();
        if bytes.len() != byte_len {
            return Err(format!(
                "tensor {name}: {} bytes, expected {byte_len}",
                bytes.len()
            ));
        }
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(dtype.code());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&data_at.to_le_bytes());
        out.extend_from_slice(&(byte_len as u64).to_le_bytes());
        layout.push((data_at, bytes));
        data_at = align(data_at + byte_len as u64);
    }
    for (at, bytes) in layout {
        out.resize(at as usize, 0);
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

fn align(at: u64) -> u64 {
    at.div_ceil(DATA_ALIGN) * DATA_ALIGN
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_image() -> ModelImage {
        let weights: Vec<f32> = (0..64).map(|i| (i as f32 - 31.5) / 10.0).collect();
        ModelImage {
            header: Header {
                version: VERSION,
                hidden_size: 32,
                num_layers: 1,
                num_heads: 2,
                intermediate_size: 64,
                vocab_size: 2,
                max_positions: 8,
                type_vocab_size: 2,
                layer_norm_eps: 1e-5,
                block_len: Q4_0_BLOCK_LEN,
            },
            specials: SpecialTokens {
                bos: 0,
                eos: 2,
                pad: 1,
                unk: 3,
            },
            pieces: vec![("<s>".into(), 0.0), ("▁hej".into(), -1.5)],
            tensors: vec![
                ("a.f32".into(), TensorData::F32(vec![1.0, -2.5, 3.25])),
                (
                    "b.q4".into(),
                    TensorData::Q4_0 {
                        len: 64,
                        blocks: quantize_q4_0(&weights),
                    },
                ),
            ],
        }
    }

    #[test]
    fn written_file_reads_back_header_specials_and_tensors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        let image = small_image();
        write_model(&path, &image).unwrap();

        let file = ModelFile::open(&path).unwrap();
        assert_eq!(file.header, image.header);
        assert_eq!(file.specials, image.specials);
        assert_eq!(file.to_f32("a.f32").unwrap(), vec![1.0, -2.5, 3.25]);
        assert_eq!(file.tensor("b.q4").unwrap().dtype, DType::Q4_0);
        assert_eq!(file.tensor("b.q4").unwrap().offset % DATA_ALIGN as usize, 0);
        let TensorData::Q4_0 { blocks, .. } = &image.tensors[1].1 else {
            unreachable!()
        };
        assert_eq!(file.q4_0_blocks("b.q4").unwrap(), &blocks[..]);
    }

    #[test]
    fn q4_0_round_trip_keeps_extreme_and_stays_within_a_step() {
        let values: Vec<f32> = (0..96)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let mut back = vec![0f32; values.len()];
        dequantize_q4_0(&quantize_q4_0(&values), &mut back);
        for (block, restored) in values.chunks(32).zip(back.chunks(32)) {
            let largest = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            let step = largest / 8.0;
            for (v, r) in block.iter().zip(restored) {
                // Values on the extreme's side round to the nearest step; the
                // other side tops out at 7 steps, so allow one whole step.
                assert!((v - r).abs() <= step + 1e-3, "{v} came back as {r}");
            }
            let extreme_kept = block
                .iter()
                .zip(restored)
                .any(|(v, r)| v.abs() == largest && (v - r).abs() <= largest * 1e-3);
            assert!(
                extreme_kept,
                "no value of magnitude {largest} came back exactly"
            );
        }
    }

    #[test]
    fn nibble_order_is_low_then_high_half_of_block() {
        // scale 1.0, byte j = (low = j) | (high = 15 - j)
        let mut block = f16::from_f32(1.0).to_le_bytes().to_vec();
        block.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let mut out = vec![0f32; 32];
        dequantize_q4_0(&block, &mut out);
        assert_eq!(out[0], -8.0);
        assert_eq!(out[15], 7.0);
        assert_eq!(out[16], 7.0);
        assert_eq!(out[31], -8.0);
    }

    #[test]
    fn truncated_file_error_names_file_and_tensor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.bin");
        write_model(&path, &small_image()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();

        let message = ModelFile::open(&path).err().expect("must fail").to_string();
        assert!(message.contains("cut.bin"), "{message}");
        assert!(message.contains("b.q4"), "{message}");
    }

    #[test]
    fn missing_tensor_and_wrong_dtype_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        write_model(&path, &small_image()).unwrap();
        let file = ModelFile::open(&path).unwrap();

        let missing = file.to_f32("l0.q.w").unwrap_err().to_string();
        assert!(
            missing.contains("l0.q.w") && missing.contains("m.bin"),
            "{missing}"
        );
        let wrong = file.q4_0_blocks("a.f32").unwrap_err().to_string();
        assert!(
            wrong.contains("a.f32") && wrong.contains("not Q4_0"),
            "{wrong}"
        );
    }

    #[test]
    fn bad_magic_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.bin");
        std::fs::write(&path, b"GGUF and then some more bytes").unwrap();
        let message = ModelFile::open(&path).err().expect("must fail").to_string();
        assert!(
            message.contains("x.bin") && message.contains("magic"),
            "{message}"
        );
    }
}
