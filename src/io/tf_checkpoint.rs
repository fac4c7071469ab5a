//! TensorFlow checkpoints (the "tensor bundle" of TF 1.x `tf.train.Saver` and TF 2): read the
//! float32 variables of a published model without TensorFlow.
//!
//! A checkpoint `PREFIX` is two files (TensorFlow `core/util/tensor_bundle/tensor_bundle.h`):
//!
//! - `PREFIX.index`: a LevelDB-format sorted string table (`core/lib/io/table_format.txt`): data
//!   blocks of prefix-compressed `key → value` entries with a restart array, each block followed
//!   by a 5-byte trailer (compression type, masked CRC-32C); an index block mapping the last key
//!   of each data block to its `BlockHandle`; a 48-byte footer (two handles, padding, magic
//!   `0xdb4775248b80fb57`). The key `""` holds a `BundleHeaderProto` (shard count, endianness);
//!   every other key is a variable name whose value is a `BundleEntryProto` (dtype, shape, shard,
//!   offset, size, masked CRC-32C of the bytes).
//! - `PREFIX.data-SSSSS-of-NNNNN`: the raw tensor bytes, little-endian.
//!
//! The shards are held in memory (a published picker's are a few MB). Only what a trained
//! network needs is read: float32 tensors, stored whole (not partitioned
//! into slices), little-endian, uncompressed blocks. Anything else is refused with its name. Every
//! length and offset is checked against the file before it is used, and every tensor against its
//! CRC, so a damaged file is an error naming the variable, never a wrong weight.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `kTableMagicNumber` of LevelDB tables.
const MAGIC: u64 = 0xdb47_7524_8b80_fb57;
const FOOTER: usize = 48;
/// TensorFlow `DataType` codes.
const DT_FLOAT: u64 = 1;

/// Where one variable's bytes are.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub dtype: u64,
    pub shape: Vec<usize>,
    pub shard: u64,
    pub offset: u64,
    pub size: u64,
    /// Masked CRC-32C of the bytes, when the entry has one.
    pub crc: Option<u32>,
    /// The variable is stored as slices of a partitioned variable.
    pub sliced: bool,
}

/// A checkpoint in memory: its index parsed, its shards as bytes.
pub struct Checkpoint {
    /// The index file's name, for messages.
    index: String,
    /// `(name, bytes)` of each data shard, in shard order.
    shards: Vec<(String, Vec<u8>)>,
    entries: BTreeMap<String, Entry>,
}

fn err(file: &Path, msg: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{}: {msg}", file.display())
}

/// A little reader over bytes that never reads past them.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cursor { b, at: 0 }
    }
    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .b
                .get(self.at)
                .ok_or_else(|| format!("varint runs past the end at byte {}", self.at))?;
            self.at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!("varint longer than 10 bytes at byte {}", self.at))
    }
    fn bytes(&mut self, n: u64) -> Result<&'a [u8], String> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.at.checked_add(n))
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| {
                format!(
                    "{n} bytes at byte {} run past the end ({} bytes)",
                    self.at,
                    self.b.len()
                )
            })?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn done(&self) -> bool {
        self.at >= self.b.len()
    }
}

/// `(offset, size)` of a block.
fn handle(c: &mut Cursor<'_>) -> Result<(u64, u64), String> {
    Ok((c.varint()?, c.varint()?))
}

/// The entries of one block (`b` without its trailer).
/// A block's `(key, value)` entries.
type Entries<'a> = Vec<(Vec<u8>, &'a [u8])>;

fn block_entries(b: &[u8]) -> Result<Entries<'_>, String> {
    if b.len() < 4 {
        return Err(format!("a block of {} bytes has no restart count", b.len()));
    }
    let restarts = u32::from_le_bytes(b[b.len() - 4..].try_into().expect("4 bytes")) as usize;
    let data_end = restarts
        .checked_mul(4)
        .and_then(|r| b.len().checked_sub(4 + r))
        .ok_or_else(|| {
            format!(
                "{restarts} restart points do not fit in a {}-byte block",
                b.len()
            )
        })?;
    let mut c = Cursor::new(&b[..data_end]);
    let mut key: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    while !c.done() {
        let shared = c.varint()? as usize;
        let non_shared = c.varint()?;
        let value_len = c.varint()?;
        if shared > key.len() {
            return Err(format!(
                "an entry shares {shared} bytes with a previous key of {}",
                key.len()
            ));
        }
        key.truncate(shared);
        key.extend_from_slice(c.bytes(non_shared)?);
        out.push((key.clone(), c.bytes(value_len)?));
    }
    Ok(out)
}

/// One field of a protobuf message (the wire types the bundle protos use).
enum Field<'a> {
    Varint(u64),
    Fixed32(u32),
    /// A 64-bit fixed field (no field read here has one).
    Fixed64,
    Bytes(&'a [u8]),
}

fn proto_fields(b: &[u8]) -> Result<Vec<(u64, Field<'_>)>, String> {
    let mut c = Cursor::new(b);
    let mut out = Vec::new();
    while !c.done() {
        let tag = c.varint()?;
        let f = match tag & 7 {
            0 => Field::Varint(c.varint()?),
            1 => {
                c.bytes(8)?;
                Field::Fixed64
            }
            2 => {
                let n = c.varint()?;
                Field::Bytes(c.bytes(n)?)
            }
            5 => Field::Fixed32(u32::from_le_bytes(c.bytes(4)?.try_into().expect("4"))),
            w => return Err(format!("protobuf wire type {w} (field {})", tag >> 3)),
        };
        out.push((tag >> 3, f));
    }
    Ok(out)
}

/// `BundleEntryProto`: dtype 1, shape 2, shard_id 3, offset 4, size 5, crc32c 6, slices 7.
fn bundle_entry(b: &[u8]) -> Result<Entry, String> {
    let mut e = Entry {
        dtype: 0,
        shape: Vec::new(),
        shard: 0,
        offset: 0,
        size: 0,
        crc: None,
        sliced: false,
    };
    for (n, f) in proto_fields(b)? {
        match (n, f) {
            (1, Field::Varint(v)) => e.dtype = v,
            (2, Field::Bytes(shape)) => {
                // TensorShapeProto: repeated Dim dim = 2 { int64 size = 1; string name = 2 }.
                for (m, d) in proto_fields(shape)? {
                    if let (2, Field::Bytes(dim)) = (m, d) {
                        for (k, s) in proto_fields(dim)? {
                            if let (1, Field::Varint(v)) = (k, s) {
                                e.shape.push(usize::try_from(v).map_err(|_| "dimension")?);
                            }
                        }
                    } else if m == 3 {
                        return Err("a shape of unknown rank".into());
                    }
                }
            }
            (3, Field::Varint(v)) => e.shard = v,
            (4, Field::Varint(v)) => e.offset = v,
            (5, Field::Varint(v)) => e.size = v,
            (6, Field::Fixed32(v)) => e.crc = Some(v),
            (7, _) => e.sliced = true,
            _ => {}
        }
    }
    Ok(e)
}

/// LevelDB's CRC mask (`crc32c::Mask`).
fn unmask(masked: u32) -> u32 {
    let rot = masked.wrapping_sub(0xa282_ead8);
    rot.rotate_left(15)
}
impl Checkpoint {
    /// Opens `prefix` (`…/model_95.ckpt`: the files `prefix.index` and `prefix.data-…`).
    pub fn open(prefix: &Path) -> anyhow::Result<Checkpoint> {
        let index = PathBuf::from(format!("{}.index", prefix.display()));
        let bytes = std::fs::read(&index).map_err(|e| err(&index, e))?;
        let (count, _) = parse_index(&bytes).map_err(|e| err(&index, e))?;
        let mut shards = Vec::new();
        for s in 0..count {
            let p = PathBuf::from(format!("{}.data-{s:05}-of-{count:05}", prefix.display()));
            let b = std::fs::read(&p).map_err(|e| err(&p, e))?;
            shards.push((p.display().to_string(), b));
        }
        Checkpoint::parse(&index.display().to_string(), &bytes, shards)
    }

    /// A checkpoint from the bytes of its index (`index` names it) and of its shards `(name,
    /// bytes)`, which must be as many as the index's header says.
    pub fn parse(
        index: &str,
        bytes: &[u8],
        shards: Vec<(String, Vec<u8>)>,
    ) -> anyhow::Result<Checkpoint> {
        let (count, entries) = parse_index(bytes).map_err(|e| anyhow::anyhow!("{index}: {e}"))?;
        anyhow::ensure!(
            count as usize == shards.len(),
            "{index}: the checkpoint has {count} data shard(s); {} given",
            shards.len()
        );
        Ok(Checkpoint {
            index: index.to_string(),
            shards,
            entries,
        })
    }

    /// The number of data shards the index names (`prefix.data-0000k-of-0000n`).
    pub fn shard_count(index: &[u8]) -> Result<u64, String> {
        parse_index(index).map(|(n, _)| n)
    }

    /// Every variable, by name.
    pub fn entries(&self) -> &BTreeMap<String, Entry> {
        &self.entries
    }

    /// The float32 values of variable `name`, with its shape; checked against its CRC and size.
    pub fn f32(&self, name: &str) -> anyhow::Result<(Vec<usize>, Vec<f32>)> {
        let index = &self.index;
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("{index}: no variable `{name}` in the checkpoint"))?;
        anyhow::ensure!(
            e.dtype == DT_FLOAT,
            "{index}: variable `{name}` has TensorFlow dtype {} (only float32, 1, is read)",
            e.dtype
        );
        anyhow::ensure!(
            !e.sliced,
            "{index}: variable `{name}` is stored as slices of a partitioned variable, which is not read"
        );
        let count = e
            .shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .filter(|n| n.checked_mul(4).is_some_and(|b| b as u64 == e.size))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{index}: variable `{name}`: shape {:?} does not match its {} bytes",
                    e.shape,
                    e.size
                )
            })?;
        let (path, shard) = usize::try_from(e.shard)
            .ok()
            .and_then(|s| self.shards.get(s))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{index}: variable `{name}` is in shard {} of {}",
                    e.shard,
                    self.shards.len()
                )
            })?;
        let data = usize::try_from(e.offset)
            .ok()
            .zip(usize::try_from(e.size).ok())
            .and_then(|(o, n)| Some((o, o.checked_add(n)?)))
            .and_then(|(o, end)| shard.get(o..end))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{path}: variable `{name}`: {} bytes at offset {} lie past the end of the file ({} bytes)",
                    e.size,
                    e.offset,
                    shard.len()
                )
            })?;
        if let Some(crc) = e.crc {
            let got = crc32c::crc32c(data);
            anyhow::ensure!(
                got == unmask(crc),
                "{path}: variable `{name}`: CRC-32C {got:#010x} of its {} bytes at {} differs from the index's {:#010x}: the file is damaged",
                e.size,
                e.offset,
                unmask(crc)
            );
        }
        let v: Vec<f32> = data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
            .collect();
        debug_assert_eq!(v.len(), count);
        Ok((e.shape.clone(), v))
    }
}

/// The block at `(offset, size)` of the table, its trailer checked.
fn block(bytes: &[u8], (offset, size): (u64, u64), what: &str) -> Result<Vec<u8>, String> {
    let start = usize::try_from(offset).map_err(|_| format!("{what} offset {offset}"))?;
    let end = usize::try_from(size)
        .ok()
        .and_then(|s| start.checked_add(s))
        .filter(|&e| e.checked_add(5).is_some_and(|t| t <= bytes.len()))
        .ok_or_else(|| {
            format!(
                "{what} of {size} bytes at {offset} lies past the end ({} bytes)",
                bytes.len()
            )
        })?;
    let kind = bytes[end];
    let crc = u32::from_le_bytes(bytes[end + 1..end + 5].try_into().expect("4"));
    // The CRC covers the block and its type byte.
    let got = crc32c::crc32c_append(crc32c::crc32c(&bytes[start..end]), &[kind]);
    if got != unmask(crc) {
        return Err(format!(
            "{what} at byte {offset}: CRC-32C {got:#010x} differs from its trailer's {:#010x}: the file is damaged",
            unmask(crc)
        ));
    }
    match kind {
        0 => Ok(bytes[start..end].to_vec()),
        k => Err(format!(
            "{what} at byte {offset} is compressed (type {k}: {}); TensorFlow writes bundle indexes uncompressed",
            if k == 1 { "snappy" } else { "unknown" }
        )),
    }
}

fn parse_index(bytes: &[u8]) -> Result<(u64, BTreeMap<String, Entry>), String> {
    if bytes.len() < FOOTER {
        return Err(format!(
            "{} bytes: too short for a table footer ({FOOTER})",
            bytes.len()
        ));
    }
    let footer = &bytes[bytes.len() - FOOTER..];
    let magic = u64::from_le_bytes(footer[40..].try_into().expect("8"));
    if magic != MAGIC {
        return Err(format!(
            "not a TensorFlow checkpoint index (table magic {magic:#018x}, expected {MAGIC:#018x})"
        ));
    }
    let mut c = Cursor::new(&footer[..40]);
    let _metaindex = handle(&mut c)?;
    let index_handle = handle(&mut c)?;
    let index = block(bytes, index_handle, "the index block")?;
    let mut entries = BTreeMap::new();
    let mut shards = None;
    for (last_key, value) in block_entries(&index)? {
        let h = handle(&mut Cursor::new(value))?;
        let what = format!(
            "the data block ending at key `{}`",
            String::from_utf8_lossy(&last_key)
        );
        let data = block(bytes, h, &what)?;
        for (key, value) in block_entries(&data).map_err(|e| format!("{what}: {e}"))? {
            let name = String::from_utf8(key).map_err(|_| "a variable name is not UTF-8")?;
            if name.is_empty() {
                // BundleHeaderProto: num_shards 1, endianness 2 (0 little), version 3.
                let mut n = 1;
                for (f, v) in proto_fields(value)? {
                    match (f, v) {
                        (1, Field::Varint(v)) => n = v,
                        (2, Field::Varint(1)) => {
                            return Err(
                                "the bundle is big-endian; only little-endian is read".into()
                            );
                        }
                        _ => {}
                    }
                }
                if n == 0 || n > 100_000 {
                    return Err(format!("the header claims {n} shards"));
                }
                shards = Some(n);
            } else {
                let e = bundle_entry(value).map_err(|e| format!("variable `{name}`: {e}"))?;
                entries.insert(name, e);
            }
        }
    }
    let shards = shards.ok_or("no bundle header (key \"\"): not a tensor bundle index")?;
    Ok((shards, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/models/phasenet/model_95.ckpt")
    }

    /// The published PhaseNet checkpoint: names and shapes as TensorFlow's reader lists them
    /// (tests/data/models/phasenet/generate.py).
    #[test]
    fn reads_the_published_phasenet_checkpoint() {
        let c = Checkpoint::open(&prefix()).unwrap();
        let e = &c.entries()["DownConv_3/down_conv1_4/kernel"];
        assert_eq!(e.shape, [7, 1, 32, 64]);
        let (shape, v) = c.f32("Input/input_conv/kernel").unwrap();
        assert_eq!(shape, [7, 1, 3, 8]);
        assert_eq!(v.len(), 168);
        let trainable: usize = c
            .entries()
            .iter()
            .filter(|(n, _)| {
                !n.contains("Adam")
                    && !n.contains("moving_")
                    && (n.ends_with("kernel")
                        || n.ends_with("bias")
                        || n.ends_with("gamma")
                        || n.ends_with("beta"))
            })
            .map(|(_, e)| e.shape.iter().product::<usize>())
            .sum();
        assert_eq!(trainable, 268_443);
        let err = c.f32("global_step").unwrap_err().to_string();
        assert!(err.contains("dtype 3"), "{err}");
        let err = c.f32("nope").unwrap_err().to_string();
        assert!(err.contains("no variable `nope`"), "{err}");
    }

    #[test]
    fn damage_is_an_error_naming_what() {
        let bytes = std::fs::read(format!("{}.index", prefix().display())).unwrap();
        assert!(parse_index(&bytes[..40]).unwrap_err().contains("too short"));
        let mut b = bytes.clone();
        let n = b.len();
        b[n - 1] ^= 1;
        assert!(parse_index(&b).unwrap_err().contains("magic"));
        let mut b = bytes.clone();
        b[100] ^= 0x40;
        let e = parse_index(&b).unwrap_err();
        assert!(e.contains("CRC-32C"), "{e}");
        // Every truncation and every single-byte change is an error or a parse, never a panic.
        for cut in 0..bytes.len() {
            let _ = parse_index(&bytes[..cut]);
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] = b[i].wrapping_add(0x55);
            let _ = parse_index(&b);
        }
    }
}
