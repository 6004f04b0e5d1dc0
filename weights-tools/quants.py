"""numpy codecs for the .rcyl dtypes (FORMAT.md "Data types").

Decoding follows FORMAT.md's table; encoding follows ggml's reference quantizers
(quantize_row_q8_0_ref / quantize_row_q4_1_ref), computed in float32 as ggml does, so
re-quantized files match what llama.cpp tools would produce.
"""

import numpy as np

BLOCK = 32
_Q8_0 = np.dtype([("d", "<f2"), ("q", "i1", (BLOCK,))])
_Q4_1 = np.dtype([("d", "<f2"), ("m", "<f2"), ("qs", "u1", (BLOCK // 2,))])
assert _Q8_0.itemsize == 34 and _Q4_1.itemsize == 20


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
