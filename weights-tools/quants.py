"""numpy codecs for the .rcyl dtypes (FORMAT.md "Data types").

Decoding follows FORMAT.md's table (the runtime's decoders in Blocks.swift give the same
float32 bits); encoding follows ggml's reference quantizers (quantize_row_q8_0_ref /
quantize_row_q4_1_ref), computed in float32 as ggml does, so re-quantized files match what
llama.cpp tools would produce. q5_0, q4_k and q6_k are decoded only: they come from GGUF
files as they are.
"""

import numpy as np

BLOCK = 32
_Q8_0 = np.dtype([("d", "<f2"), ("q", "i1", (BLOCK,))])
_Q4_1 = np.dtype([("d", "<f2"), ("m", "<f2"), ("qs", "u1", (BLOCK // 2,))])
_Q5_0 = np.dtype([("d", "<f2"), ("qh", "<u4"), ("qs", "u1", (BLOCK // 2,))])
SUPER = 256  # elements of a k-quant super-block
_Q4_K = np.dtype([("d", "<f2"), ("dmin", "<f2"), ("scales", "u1", (12,)), ("qs", "u1", (SUPER // 2,))])
_Q6_K = np.dtype([("ql", "u1", (SUPER // 2,)), ("qh", "u1", (SUPER // 4,)), ("scales", "i1", (SUPER // 16,)), ("d", "<f2")])
assert _Q8_0.itemsize == 34 and _Q4_1.itemsize == 20
assert _Q5_0.itemsize == 22 and _Q4_K.itemsize == 144 and _Q6_K.itemsize == 210


def _q4_k_scales_mins(scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The eight 6-bit (scale, min) pairs of each Q4_K block (ggml's get_scale_min_k4):
    pair s < 4 is the low 6 bits of bytes s and s + 4; pair s >= 4 takes its low 4 bits
    from byte s + 4 (scale: low nibble, min: high nibble) and its top 2 bits from the top
    bits of bytes s - 4 (scale) and s (min)."""
    lo, mid, top = scales[:, 0:4], scales[:, 4:8], scales[:, 8:12]
    sc = np.concatenate([lo & 0x3F, (top & 0x0F) | ((lo >> 6) << 4)], axis=1)
    m = np.concatenate([mid & 0x3F, (top >> 4) | ((mid >> 6) << 4)], axis=1)
    return sc, m


def dequantize(dtype: str, raw, shape) -> np.ndarray:
    """Raw tensor bytes -> float32 array of `shape` (outer dimension first)."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    if dtype == "f32":
        out = buf.view("<f4").astype(np.float32)
    elif dtype == "f16":
        out = buf.view("<f2").astype(np.float32)
    elif dtype == "q8_0":
        blocks = buf.view(_Q8_0)
        out = blocks["d"].astype(np.float32)[:, None] * blocks["q"].astype(np.float32)
    elif dtype == "q4_1":
        blocks = buf.view(_Q4_1)
        qs = blocks["qs"]
        # Element j < 16 is the low nibble of byte j, element j >= 16 the high nibble of byte j-16.
        n = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32)
        out = blocks["d"].astype(np.float32)[:, None] * n + blocks["m"].astype(np.float32)[:, None]
    elif dtype == "q5_0":
        blocks = buf.view(_Q5_0)
        qs = blocks["qs"]
        # Nibbles as in q4_1; bit j of qh is element j's fifth bit.
        n = np.concatenate([qs & 0x0F, qs >> 4], axis=1)
        high = (blocks["qh"][:, None] >> np.arange(BLOCK, dtype=np.uint32)) & 1
        u = n.astype(np.int32) | (high.astype(np.int32) << 4)
        out = blocks["d"].astype(np.float32)[:, None] * (u - 16).astype(np.float32)
    elif dtype == "q4_k":
        blocks = buf.view(_Q4_K)
        sc, m = _q4_k_scales_mins(blocks["scales"])
        # Sub-block s (32 elements) is the low (s even) or high (s odd) nibbles of bytes
        # 32 * (s // 2) ... + 31.
        qs = blocks["qs"].reshape(-1, 4, 1, 32)
        n = np.concatenate([qs & 0x0F, qs >> 4], axis=2).reshape(-1, 8, 32).astype(np.float32)
        scale = blocks["d"].astype(np.float32)[:, None] * sc.astype(np.float32)  # exact: f16 x 6 bits
        minimum = blocks["dmin"].astype(np.float32)[:, None] * m.astype(np.float32)
        # scale * n is exact (21 bits), so this one rounding equals the runtime's fma.
        out = scale[:, :, None] * n - minimum[:, :, None]
    elif dtype == "q6_k":
        blocks = buf.view(_Q6_K)
        # Each half (128 elements) of the block uses 64 bytes of ql and 32 of qh: its
        # quarter g (32 elements) is ql's low nibbles (g = 0, 1) or high nibbles (g = 2, 3)
        # of bytes 32 * (g % 2) ..., and bits 2g, 2g + 1 of qh's bytes.
        ql = blocks["ql"].reshape(-1, 2, 1, 64)
        low = np.concatenate([ql & 0x0F, ql >> 4], axis=2).reshape(-1, 2, 4, 32)
        qh = blocks["qh"].reshape(-1, 2, 1, 32)
        high = (qh >> (2 * np.arange(4, dtype=np.uint8)).reshape(1, 1, 4, 1)) & 3
        u = (low | (high << 4)).reshape(-1, 16, 16).astype(np.int32)
        scale = blocks["d"].astype(np.float32)[:, None] * blocks["scales"].astype(np.float32)  # exact
        out = scale[:, :, None] * (u - 32).astype(np.float32)  # exact: 17 + 6 bits
    else:
        raise ValueError(f"unknown dtype {dtype!r}")
    return out.reshape(shape)


def _roundf(x: np.ndarray) -> np.ndarray:
    """C's roundf (halves away from zero); np.rint would round halves to even."""
    return np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))


def _blocks(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.shape[-1] % BLOCK != 0:
        raise ValueError(f"last dimension {x.shape[-1]} is not a multiple of {BLOCK}")
    return x.reshape(-1, BLOCK)


def _f16_scale(v: np.ndarray, what: str) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = v.astype("<f2")
    if not np.all(np.isfinite(h)):
        raise ValueError(f"a block {what} does not fit in float16 (weights too large or not finite)")
    return h


def _inverse(d: np.ndarray) -> np.ndarray:
    """1/d, and 0 for all-zero blocks (ggml's `d ? 1.0f/d : 0.0f`)."""
    return np.divide(np.float32(1), d, out=np.zeros_like(d), where=d != 0)


def quantize_q8_0(x: np.ndarray) -> np.ndarray:
    """float values -> q8_0 block bytes: d = amax/127, q = roundf(x / d)."""
    xb = _blocks(x)
    d = np.abs(xb).max(axis=1) / np.float32(127)
    out = np.empty(len(xb), dtype=_Q8_0)
    out["d"] = _f16_scale(d, "scale")
    out["q"] = _roundf(xb * _inverse(d)[:, None]).astype(np.int8)
    return out.view(np.uint8)


def quantize_q4_1(x: np.ndarray) -> np.ndarray:
    """float values -> q4_1 block bytes: m = block min, d = (max-min)/15,
    n = min(15, trunc((x-m)/d + 0.5)). The unrounded float32 d and m quantize, and their
    float16 roundings are stored, as in ggml."""
    xb = _blocks(x)
    lo, hi = xb.min(axis=1), xb.max(axis=1)
    d = (hi - lo) / np.float32(15)
    n = np.minimum(15, ((xb - lo[:, None]) * _inverse(d)[:, None] + np.float32(0.5)).astype(np.int8))
    n = n.astype(np.uint8)
    out = np.empty(len(xb), dtype=_Q4_1)
    out["d"] = _f16_scale(d, "scale")
    out["m"] = _f16_scale(lo, "minimum")
    out["qs"] = n[:, :BLOCK // 2] | (n[:, BLOCK // 2:] << 4)
    return out.view(np.uint8)


def encode(dtype: str, x: np.ndarray) -> np.ndarray:
    """float values -> raw bytes (uint8 array) of `dtype`."""
    if dtype == "f32":
        return np.ascontiguousarray(x, dtype="<f4").view(np.uint8)
    if dtype == "f16":
        with np.errstate(over="ignore"):
            h = np.ascontiguousarray(x, dtype="<f2")
        if not np.all(np.isfinite(h)):
            raise ValueError("a value does not fit in float16")
        return h.view(np.uint8)
    if dtype == "q8_0":
        return quantize_q8_0(x)
    if dtype == "q4_1":
        return quantize_q4_1(x)
    raise ValueError(f"unknown dtype {dtype!r}")
