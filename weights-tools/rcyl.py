"""Read, validate and write `.rcyl` weights files (docs/FORMAT.md, version 1).

Standard library only: validating a file must not need numpy (block decoding lives in
quants.py). The reader treats every file as untrusted and checks every structural rule of
FORMAT.md before handing anything out; each failure raises RcylError with a message that
names the offending field or tensor.
"""

import json
import math
import mmap
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass

MAGIC = b"RCYLWTS\x00"
FORMAT_VERSION = 1
HEADER_SIZE = 128
ALIGNMENT = 64
CHECKSUM_CRC32 = 1

# magic, format_version, header_size, metadata_offset, metadata_length, directory_offset,
# directory_length, data_offset, data_length, file_length, checksum_kind, checksum, reserved
_HEADER = struct.Struct("<8sII7QII48s")
assert _HEADER.size == HEADER_SIZE


class RcylError(Exception):
    """A file (or a request to write one) breaks a rule of FORMAT.md."""


@dataclass(frozen=True)
class DType:
    name: str
    block_elems: int  # elements per block (1 for plain floats)
    block_bytes: int  # bytes per block


DTYPES = {
    d.name: d
    for d in (
        DType("f32", 1, 4),
        DType("f16", 1, 2),
        DType("q8_0", 32, 34),
        DType("q4_1", 32, 20),
        DType("q5_0", 32, 22),
        DType("q4_k", 256, 144),
        DType("q6_k", 256, 210),
    )
}

ARCHITECTURES = ("llama",)
ROPE_PAIRINGS = ("adjacent",)
TOKENIZER_MODELS = ("gpt2-bpe",)


def tensor_nbytes(dtype: str, shape) -> int:
    """Exact byte size of a tensor; raises if the shape cannot be stored in that dtype."""
    if dtype not in DTYPES:
        raise RcylError(f"unknown dtype {dtype!r}")
    dt = DTYPES[dtype]
    count = math.prod(shape)
    if dt.block_elems > 1 and shape[-1] % dt.block_elems != 0:
        raise RcylError(
            f"last dimension {shape[-1]} is not a multiple of {dt.block_elems}, "
            f"as {dtype} blocks require"
        )
    return count // dt.block_elems * dt.block_bytes


def align_up(n: int, alignment: int = ALIGNMENT) -> int:
    return (n + alignment - 1) // alignment * alignment


@dataclass(frozen=True)
class Header:
    format_version: int
    header_size: int
    metadata_offset: int
    metadata_length: int
    directory_offset: int
    directory_length: int
    data_offset: int
    data_length: int
    file_length: int
    checksum_kind: int
    checksum: int

    def pack(self) -> bytes:
        return _HEADER.pack(
            MAGIC, self.format_version, self.header_size,
            self.metadata_offset, self.metadata_length,
            self.directory_offset, self.directory_length,
            self.data_offset, self.data_length, self.file_length,
            self.checksum_kind, self.checksum, bytes(48),
        )


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: str
    shape: tuple
    offset: int  # relative to data_offset
    length: int


# ---------------------------------------------------------------------------------------
# Reading


def parse_header(raw: bytes, file_size: int) -> Header:
    """Check the 128 header bytes field by field against the real file size."""
    if file_size < HEADER_SIZE:
        raise RcylError(f"file is {file_size} bytes, shorter than the {HEADER_SIZE}-byte header")
    (magic, version, header_size, meta_off, meta_len, dir_off, dir_len, data_off, data_len,
     file_len, ck_kind, ck, reserved) = _HEADER.unpack(raw[:HEADER_SIZE])
    if magic != MAGIC:
        raise RcylError(f"bad magic {magic!r}: not an .rcyl file")
    if version != FORMAT_VERSION:
        raise RcylError(f"format_version {version} is not supported (this reader knows {FORMAT_VERSION})")
    if header_size != HEADER_SIZE:
        raise RcylError(f"header_size is {header_size}, version 1 requires {HEADER_SIZE}")
    if any(reserved):
        raise RcylError("header reserved bytes 80..127 are not all zero")
    if ck_kind != CHECKSUM_CRC32:
        raise RcylError(f"checksum_kind {ck_kind} is unknown (1 = CRC-32)")
    if meta_off < header_size:
        raise RcylError(f"metadata_offset {meta_off} is inside the header")
    if meta_len == 0:
        raise RcylError("metadata_length is 0")
    if dir_off < meta_off + meta_len:
        raise RcylError(f"directory_offset {dir_off} overlaps the metadata (ends at {meta_off + meta_len})")
    if dir_len == 0:
        raise RcylError("directory_length is 0")
    if data_off % ALIGNMENT != 0:
        raise RcylError(f"data_offset {data_off} is not a multiple of {ALIGNMENT}")
    if data_off < dir_off + dir_len:
        raise RcylError(f"data_offset {data_off} overlaps the directory (ends at {dir_off + dir_len})")
    if file_len != data_off + data_len:
        raise RcylError(f"file_length {file_len} != data_offset {data_off} + data_length {data_len}")
    if file_len != file_size:
        raise RcylError(f"file_length says {file_len} bytes but the file has {file_size} (truncated or padded?)")
    return Header(version, header_size, meta_off, meta_len, dir_off, dir_len, data_off,
                  data_len, file_len, ck_kind, ck)


def _reject_constant(name):
    raise RcylError(f"JSON contains {name}, which is not valid JSON")


def _no_duplicate_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise RcylError(f"JSON object has duplicate key {key!r}")
        obj[key] = value
    return obj


def parse_json(raw: bytes, what: str):
    """Strict JSON: valid UTF-8, no NaN/Infinity, no duplicate keys."""
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError as e:
        raise RcylError(f"{what} is not valid UTF-8 ({e})") from None
    except json.JSONDecodeError as e:
        raise RcylError(f"{what} is not valid JSON ({e})") from None
    except RcylError as e:
        raise RcylError(f"{what}: {e}") from None


def _is_int(v) -> bool:
    return type(v) is int  # bool is a subclass of int; JSON true must not pass as 1


def _is_number(v) -> bool:
    return type(v) in (int, float) and math.isfinite(v)


def _check_positive_int(obj: dict, key: str, where: str) -> None:
    if key not in obj:
        raise RcylError(f"{where}.{key} is missing")
    if not _is_int(obj[key]) or obj[key] <= 0:
        raise RcylError(f"{where}.{key} must be a positive integer, got {obj[key]!r}")


def validate_metadata(meta) -> None:
    if not isinstance(meta, dict):
        raise RcylError("metadata is not a JSON object")
    arch = meta.get("architecture")
    if not isinstance(arch, str):
        raise RcylError("metadata.architecture is missing or not a string")
    if arch not in ARCHITECTURES:
        raise RcylError(f"unsupported architecture {arch!r} (known: {', '.join(ARCHITECTURES)})")
    _validate_config(meta.get("config"))
    _validate_tokenizer(meta.get("tokenizer"), meta["config"]["vocab_size"])
    for key in ("chat_template", "default_system_prompt"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise RcylError(f"metadata.{key} must be a string or null")


def _validate_config(cfg) -> None:
    if not isinstance(cfg, dict):
        raise RcylError("metadata.config is missing or not an object")
    for key in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "ffn_dim",
                "vocab_size", "context_length"):
        _check_positive_int(cfg, key, "config")
    for key in ("rope_theta", "rms_norm_eps"):
        if key not in cfg:
            raise RcylError(f"config.{key} is missing")
        if not _is_number(cfg[key]) or cfg[key] <= 0:
            raise RcylError(f"config.{key} must be a positive number, got {cfg[key]!r}")
    if type(cfg.get("tied_embeddings")) is not bool:
        raise RcylError("config.tied_embeddings is missing or not a boolean")
    if cfg.get("rope_pairing") not in ROPE_PAIRINGS:
        raise RcylError(f"config.rope_pairing {cfg.get('rope_pairing')!r} is not supported "
                        f"(known: {', '.join(ROPE_PAIRINGS)})")
    if cfg["n_heads"] % cfg["n_kv_heads"] != 0:
        raise RcylError(f"config.n_heads {cfg['n_heads']} is not a multiple of n_kv_heads {cfg['n_kv_heads']}")
    if cfg["head_dim"] % 2 != 0:
        raise RcylError(f"config.head_dim {cfg['head_dim']} is odd; RoPE rotates pairs")


def _validate_tokenizer(tok, vocab_size: int) -> None:
    if not isinstance(tok, dict):
        raise RcylError("metadata.tokenizer is missing or not an object")
    if tok.get("model") not in TOKENIZER_MODELS:
        raise RcylError(f"unsupported tokenizer.model {tok.get('model')!r} (known: {', '.join(TOKENIZER_MODELS)})")
    if not isinstance(tok.get("pre_tokenizer"), str):
        raise RcylError("tokenizer.pre_tokenizer is missing or not a string")
    tokens, types, merges = tok.get("tokens"), tok.get("token_types"), tok.get("merges")
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise RcylError("tokenizer.tokens must be a list of strings")
    if not tokens or len(tokens) > vocab_size:
        raise RcylError(f"tokenizer has {len(tokens)} tokens; expected 1..vocab_size ({vocab_size})")
    if not isinstance(types, list) or len(types) != len(tokens):
        raise RcylError("tokenizer.token_types must be a list as long as tokens")
    for i, t in enumerate(types):
        if not _is_int(t) or not 1 <= t <= 6:
            raise RcylError(f"tokenizer.token_types[{i}] = {t!r} is not a GGUF token type code 1..6")
    if not isinstance(merges, list):
        raise RcylError("tokenizer.merges must be a list")
    for i, m in enumerate(merges):
        parts = m.split(" ") if isinstance(m, str) else []
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise RcylError(f"tokenizer.merges[{i}] = {m!r} is not two symbols separated by one space")
    for key in ("bos_id", "eos_id", "unk_id", "pad_id"):
        v = tok.get(key)
        if v is not None and (not _is_int(v) or not 0 <= v < len(tokens)):
            raise RcylError(f"tokenizer.{key} = {v!r} is not a token id (0..{len(tokens) - 1}) or null")
    if type(tok.get("add_bos")) is not bool:
        raise RcylError("tokenizer.add_bos is missing or not a boolean")


def parse_directory(directory, data_length: int) -> list:
    if not isinstance(directory, list):
        raise RcylError("tensor directory is not a JSON array")
    entries, names = [], set()
    for i, e in enumerate(directory):
        where = f"tensor directory entry {i}"
        if not isinstance(e, dict):
            raise RcylError(f"{where} is not an object")
        name = e.get("name")
        if not isinstance(name, str) or not name:
            raise RcylError(f"{where} has no name")
        where = f"tensor {name!r}"
        if name in names:
            raise RcylError(f"{where} appears twice in the directory")
        names.add(name)
        dtype, shape, offset, length = e.get("dtype"), e.get("shape"), e.get("offset"), e.get("length")
        if not isinstance(dtype, str):
            raise RcylError(f"{where}: dtype missing")
        if dtype not in DTYPES:
            raise RcylError(f"{where}: unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not shape or not all(_is_int(d) and d > 0 for d in shape):
            raise RcylError(f"{where}: shape {shape!r} is not a non-empty list of positive integers")
        if not _is_int(offset) or offset < 0 or offset % ALIGNMENT != 0:
            raise RcylError(f"{where}: offset {offset!r} is not a non-negative multiple of {ALIGNMENT}")
        try:
            expected = tensor_nbytes(dtype, shape)
        except RcylError as err:
            raise RcylError(f"{where}: {err}") from None
        if not _is_int(length) or length != expected:
            raise RcylError(f"{where}: length {length!r} but {dtype} {shape} needs {expected} bytes")
        if offset + length > data_length:
            raise RcylError(f"{where}: bytes {offset}..{offset + length} run past the data region ({data_length} bytes)")
        entries.append(TensorEntry(name, dtype, tuple(shape), offset, length))
    by_offset = sorted(entries, key=lambda t: t.offset)
    for a, b in zip(by_offset, by_offset[1:]):
        if a.offset + a.length > b.offset:
            raise RcylError(f"tensors {a.name!r} and {b.name!r} overlap")
    return entries


def llama_tensor_shapes(cfg: dict) -> dict:
    """Required tensors of a llama model and their shapes (FORMAT.md's table)."""
    d, ff, vocab = cfg["d_model"], cfg["ffn_dim"], cfg["vocab_size"]
    q_rows = cfg["n_heads"] * cfg["head_dim"]
    kv_rows = cfg["n_kv_heads"] * cfg["head_dim"]
    shapes = {"token_embd.weight": (vocab, d), "output_norm.weight": (d,)}
    if not cfg["tied_embeddings"]:
        shapes["output.weight"] = (vocab, d)
    for i in range(cfg["n_layers"]):
        p = f"blk.{i}."
        shapes.update({
            p + "attn_norm.weight": (d,),
            p + "attn_q.weight": (q_rows, d),
            p + "attn_k.weight": (kv_rows, d),
            p + "attn_v.weight": (kv_rows, d),
            p + "attn_output.weight": (d, q_rows),
            p + "ffn_norm.weight": (d,),
            p + "ffn_gate.weight": (ff, d),
            p + "ffn_up.weight": (ff, d),
            p + "ffn_down.weight": (d, ff),
        })
    return shapes


def check_llama_tensors(cfg: dict, entries: list) -> None:
    by_name = {t.name: t for t in entries}
    for name, shape in llama_tensor_shapes(cfg).items():
        t = by_name.get(name)
        if t is None:
            raise RcylError(f"required tensor {name!r} is missing")
        if t.shape != shape:
            raise RcylError(f"tensor {name!r} has shape {list(t.shape)}, the config implies {list(shape)}")
        if len(shape) == 1 and t.dtype != "f32":
            raise RcylError(f"norm tensor {name!r} is {t.dtype}; norms must be f32")
    if cfg["tied_embeddings"] and "output.weight" in by_name:
        raise RcylError("output.weight is present but config.tied_embeddings is true")


class RcylFile:
    """A validated, memory-mapped .rcyl file. Use as a context manager or call close()."""

    def __init__(self, path):
        self.path = os.fspath(path)
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self.header = parse_header(f.read(HEADER_SIZE), size)
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            self._validate()
        except BaseException:
            self.close()
            raise

    def _validate(self) -> None:
        h, m = self.header, self._map
        self.metadata = parse_json(m[h.metadata_offset:h.metadata_offset + h.metadata_length], "metadata")
        validate_metadata(self.metadata)
        directory = parse_json(m[h.directory_offset:h.directory_offset + h.directory_length], "tensor directory")
        self.tensors = parse_directory(directory, h.data_length)
        self.by_name = {t.name: t for t in self.tensors}
        if self.metadata["architecture"] == "llama":
            check_llama_tensors(self.metadata["config"], self.tensors)
        self._check_padding()

    def _check_padding(self) -> None:
        """Every byte not inside a section or a tensor must be zero (FORMAT.md)."""
        h = self.header
        gaps = [
            (h.header_size, h.metadata_offset),
            (h.metadata_offset + h.metadata_length, h.directory_offset),
            (h.directory_offset + h.directory_length, h.data_offset),
        ]
        cursor = 0
        for t in sorted(self.tensors, key=lambda t: t.offset):
            gaps.append((h.data_offset + cursor, h.data_offset + t.offset))
            cursor = t.offset + t.length
        gaps.append((h.data_offset + cursor, h.file_length))
        for start, end in gaps:
            if end > start and self._map[start:end].count(0) != end - start:
                raise RcylError(f"padding bytes {start}..{end} are not all zero")

    @property
    def config(self) -> dict:
        return self.metadata["config"]

    def tensor_data(self, name: str) -> memoryview:
        """Raw bytes of one tensor, without copying."""
        t = self.by_name[name]
        start = self.header.data_offset + t.offset
        return memoryview(self._map)[start:start + t.length]

    def compute_checksum(self, chunk: int = 1 << 24) -> int:
        crc = 0
        view = memoryview(self._map)
        try:
            for start in range(self.header.header_size, self.header.file_length, chunk):
                crc = zlib.crc32(view[start:min(start + chunk, self.header.file_length)], crc)
        finally:
            view.release()
        return crc

    def close(self) -> None:
        if getattr(self, "_map", None) is not None:
            try:
                self._map.close()
            except BufferError:
                pass  # a caller still holds a view; the mapping goes when that view does
            self._map = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------------------
# Writing


@dataclass
class TensorSource:
    """A tensor to write: `produce()` returns its bytes (any buffer), called exactly once
    while writing, so only one tensor's data needs to be in memory at a time."""
    name: str
    dtype: str
    shape: tuple
    produce: object


def _json_bytes(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def write_rcyl(path, metadata: dict, sources: list) -> Header:
    """Write a complete file atomically: a temp file in the same directory, renamed over
    `path` only once fully written and flushed, so `path` never holds a partial file."""
    validate_metadata(metadata)
    entries, offset = [], 0
    for s in sources:
        length = tensor_nbytes(s.dtype, s.shape)
        entries.append({"name": s.name, "dtype": s.dtype, "shape": list(s.shape),
                        "offset": offset, "length": length})
        offset = align_up(offset + length)
    # data_length ends at the last tensor's last byte (no trailing padding needed).
    data_length = entries[-1]["offset"] + entries[-1]["length"] if entries else 0
    directory = parse_directory(entries, data_length)  # same checks a reader will apply
    if metadata["architecture"] == "llama":
        check_llama_tensors(metadata["config"], directory)

    meta_bytes, dir_bytes = _json_bytes(metadata), _json_bytes(entries)
    meta_off = HEADER_SIZE
    dir_off = meta_off + len(meta_bytes)
    data_off = align_up(dir_off + len(dir_bytes))

    path = os.path.abspath(os.fspath(path))
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix="." + os.path.basename(path) + ".",
                               suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as f:
            crc = 0
            f.write(bytes(HEADER_SIZE))  # placeholder until the checksum is known

            def put(data) -> None:
                nonlocal crc
                f.write(data)
                crc = zlib.crc32(data, crc)

            put(meta_bytes)
            put(dir_bytes)
            put(bytes(data_off - f.tell()))
            for s, e in zip(sources, entries):
                put(bytes(data_off + e["offset"] - f.tell()))
                data = memoryview(s.produce()).cast("B")
                if data.nbytes != e["length"]:
                    raise RcylError(f"tensor {s.name!r}: produced {data.nbytes} bytes, expected {e['length']}")
                put(data)
            header = Header(FORMAT_VERSION, HEADER_SIZE, meta_off, len(meta_bytes), dir_off,
                            len(dir_bytes), data_off, data_length, data_off + data_length,
                            CHECKSUM_CRC32, crc)
            assert f.tell() == header.file_length
            f.seek(0)
            f.write(header.pack())
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a model file is not a secret
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return header
