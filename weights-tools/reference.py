"""Plain numpy reference forward pass of a llama or gemma3 .rcyl model, in float64.

Deliberately simple and independent of the Swift runtime and of gguf: its own reader
(rcyl.py), block decoding in numpy (quants.py), full causal attention over the whole
sequence. Weights are dequantized to float32 exactly as stored (as ggml and the Hugging
Face fixtures do), then all arithmetic is float64 so that the reference's own rounding
error is negligible next to the runtime's. Only greedy generation keeps a KV cache, to
avoid re-running the prompt every step.

Like the runtime (and llama.cpp), a matmul over block-quantized weights first quantizes its
input per 32-element block, to 8 or 15 bits (docs/FORMAT.md, "Matmul arithmetic");
`quantize_activations` does that with the same float32 operations. --inputs chooses the
runtime's precision: adaptive (its default), fine (15 bits everywhere) or float (none, as
Hugging Face computes).

usage: reference.py MODEL --tokens 1,4093,198 [--out LOGITS.f32] [--inputs adaptive|fine|float]
       reference.py MODEL --tokens 1,4093,198 --greedy 64
"""

import argparse
import json
import sys
from dataclasses import dataclass

import numpy as np

import quants
import rcyl


@dataclass
class Model:
    config: dict
    metadata: dict
    weights: dict  # tensor name -> float64 array, shape as in the file
    dtypes: dict  # tensor name -> dtype name in the file ("q4_1", "f32", ...)
    # How matmul inputs are quantized: "adaptive" or "fine" as the runtime's InputPrecision,
    # or "float" (plain float64 inputs, as Hugging Face computes; check_reference.py uses
    # that to check the file against HF tightly).
    inputs: str = "adaptive"


def load_model(path) -> Model:
    with rcyl.RcylFile(path) as f:
        if f.metadata["architecture"] not in ("llama", "gemma3"):
            raise rcyl.RcylError(f"reference.py runs llama and gemma3 models, not {f.metadata['architecture']!r}")
        weights, dtypes = {}, {}
        for t in f.tensors:
            raw = f.tensor_data(t.name)
            weights[t.name] = quants.dequantize(t.dtype, raw, t.shape).astype(np.float64)
            dtypes[t.name] = t.dtype
            raw.release()  # let the mmap close
        return Model(dict(f.config), f.metadata, weights, dtypes)


# .adaptive takes 8 bits in a block whose max|x| is at most this times its mean |x|.
COARSE_RATIO = np.float32(5)


def _kernel_sum(a: np.ndarray) -> np.ndarray:
    """Sum over the last axis (32) in the runtime's order: lane i + lane i + 16, then
    halves again down to one, in float32."""
    while a.shape[-1] > 1:
        half = a.shape[-1] // 2
        a = a[..., :half] + a[..., half:]
    return a


def eight_bit_blocks(magnitudes: np.ndarray, inputs: str) -> np.ndarray:
    """Which blocks (|x| in float32, blocks of 32 on the last axis) take 8 bits: with
    "adaptive", those where 32 max|x| <= COARSE_RATIO Σ|x|; none otherwise. Shape: the
    blocks', with a last axis of 1."""
    amax = magnitudes.max(axis=-1, keepdims=True)
    if inputs != "adaptive":
        return np.zeros_like(amax, dtype=bool)
    return amax * np.float32(32) <= COARSE_RATIO * _kernel_sum(magnitudes)


def quantize_activations(x: np.ndarray, inputs: str = "adaptive") -> np.ndarray:
    """Each 32-element block of each row as the runtime's integer matmul sees it, all in
    float32: a = max|x|; 8 bits if inputs is "adaptive" and 32 a <= 5 Σ|x|, else 15;
    step = a / (127 or 16383), q = rint(x * (1 / step)) (half to even); returns step * q in
    float64."""
    blocks = x.astype(np.float32).reshape(*x.shape[:-1], -1, 32)
    magnitudes = np.abs(blocks)
    amax = magnitudes.max(axis=-1, keepdims=True)
    eight = eight_bit_blocks(magnitudes, inputs)
    step = (amax / np.where(eight, np.float32(127), np.float32(16383))).astype(np.float32)
    with np.errstate(divide="ignore"):
        inverse = np.where(step > 0, np.float32(1) / step, np.float32(0)).astype(np.float32)
    q = np.rint(blocks * inverse)
    return (step.astype(np.float64) * q.astype(np.float64)).reshape(x.shape)


# The dtypes the runtime multiplies with its integer matmul, on quantized inputs.
BLOCK_QUANTIZED = ("q4_1", "q8_0", "q5_0", "q4_k", "q6_k")


def matmul(model: Model, x: np.ndarray, name: str) -> np.ndarray:
    """x @ W.T for the weight tensor `name`, with the runtime's input quantization for
    block-quantized weights."""
    if model.inputs != "float" and model.dtypes[name] in BLOCK_QUANTIZED:
        x = quantize_activations(x, model.inputs)
    return x @ model.weights[name].T


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def rope(x: np.ndarray, positions: np.ndarray, theta: float, pairing: str = "adjacent") -> np.ndarray:
    """Rotary embedding: pair i of each head is rotated by position * theta^(-2i/head_dim).
    Pair i is dims (2i, 2i+1) with "adjacent" pairing, (i, i + head_dim/2) with "halves".
    x: [tokens, heads, head_dim]."""
    head_dim = x.shape[-1]
    inv_freq = theta ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angle = positions[:, None].astype(np.float64) * inv_freq[None, :]  # [tokens, head_dim/2]
    cos, sin = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]
    if pairing == "adjacent":
        first, second = slice(0, None, 2), slice(1, None, 2)
    else:
        first, second = slice(0, head_dim // 2), slice(head_dim // 2, None)
    a, b = x[..., first], x[..., second]
    out = np.empty_like(x)
    out[..., first] = a * cos - b * sin
    out[..., second] = a * sin + b * cos
    return out


def causal_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, start: int = 0,
                     scale: float = None, window: int = None) -> np.ndarray:
    """q: [n, n_heads, hd] for positions start..start+n-1; k/v: [start+n, n_kv_heads, hd]
    for positions 0..start+n-1. Returns [n, n_heads * hd].
    Query head h reads key/value head h // (n_heads / n_kv_heads). Scores are scaled by
    `scale` (default 1/sqrt(hd)); with a `window`, position p sees only p-window+1 .. p."""
    n, n_heads, hd = q.shape
    group = n_heads // k.shape[1]
    k = np.repeat(k, group, axis=1)  # kv head g becomes heads g*group .. g*group+group-1
    v = np.repeat(v, group, axis=1)
    scores = np.einsum("qhd,khd->hqk", q, k) * (1 / np.sqrt(hd) if scale is None else scale)
    key_pos, query_pos = np.arange(k.shape[0])[None, :], (start + np.arange(n))[:, None]
    hidden = key_pos > query_pos
    if window is not None:
        hidden |= key_pos <= query_pos - window
    scores[:, hidden] = -np.inf
    scores -= scores.max(axis=-1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=-1, keepdims=True)
    out = np.einsum("hqk,khd->qhd", probs, v)
    return out.reshape(n, n_heads * hd)


class KVCache:
    """Keys/values of the positions already run, per layer. Only greedy() uses it, to
    avoid re-running the prompt every step; forward() always attends from scratch."""

    def __init__(self, n_layers: int):
        self.k = [None] * n_layers
        self.v = [None] * n_layers
        self.length = 0

    def extend(self, layer: int, k: np.ndarray, v: np.ndarray):
        if self.k[layer] is not None:
            k = np.concatenate([self.k[layer], k])
            v = np.concatenate([self.v[layer], v])
        self.k[layer], self.v[layer] = k, v
        return k, v


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


ACTIVATIONS = {"silu": silu, "gelu_tanh": gelu_tanh}


def hidden_states(model: Model, ids, cache: KVCache = None) -> np.ndarray:
    """Final normalized hidden state of every position of `ids`: [n_tokens, d_model].
    With a cache, `ids` continue the sequence held in it (and are appended to it)."""
    c, w = model.config, model.weights
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 1 or len(ids) == 0:
        raise ValueError("need a non-empty 1-D sequence of token ids")
    if ids.min() < 0 or ids.max() >= c["vocab_size"]:
        raise ValueError(f"token ids must be in 0..{c['vocab_size'] - 1}")
    n, hd, eps = len(ids), c["head_dim"], c["rms_norm_eps"]
    start = cache.length if cache is not None else 0
    positions = np.arange(start, start + n)
    activation = ACTIVATIONS[c.get("activation", "silu")]
    layer_types = c.get("layer_types", ["full_attention"] * c["n_layers"])
    # Gemma 3 scales embeddings by sqrt(d_model) in float32, as Hugging Face does.
    x = w["token_embd.weight"][ids].astype(np.float32) * np.float32(c.get("embedding_scale", 1.0))
    x = x.astype(np.float64)

    def optional_norm(v, name):  # gemma3's extra norms; absent in llama
        return rms_norm(v, w[name], eps) if name in w else v

    for i in range(c["n_layers"]):
        p = f"blk.{i}."
        sliding = layer_types[i] == "sliding_attention"
        theta = c["rope_theta_sliding"] if sliding and "rope_theta_sliding" in c else c["rope_theta"]
        h = rms_norm(x, w[p + "attn_norm.weight"], eps)
        q = matmul(model, h, p + "attn_q.weight").reshape(n, c["n_heads"], hd)
        k = matmul(model, h, p + "attn_k.weight").reshape(n, c["n_kv_heads"], hd)
        v = matmul(model, h, p + "attn_v.weight").reshape(n, c["n_kv_heads"], hd)
        q, k = optional_norm(q, p + "attn_q_norm.weight"), optional_norm(k, p + "attn_k_norm.weight")
        q, k = rope(q, positions, theta, c["rope_pairing"]), rope(k, positions, theta, c["rope_pairing"])
        if cache is not None:
            k, v = cache.extend(i, k, v)
        attended = causal_attention(q, k, v, start, c.get("attention_scale"),
                                    c["sliding_window"] if sliding else None)
        x = x + optional_norm(matmul(model, attended, p + "attn_output.weight"), p + "post_attention_norm.weight")
        h = rms_norm(x, w[p + "ffn_norm.weight"], eps)
        gate = matmul(model, h, p + "ffn_gate.weight")
        up = matmul(model, h, p + "ffn_up.weight")
        x = x + optional_norm(matmul(model, activation(gate) * up, p + "ffn_down.weight"), p + "post_ffw_norm.weight")
    if cache is not None:
        cache.length += n
    return rms_norm(x, w["output_norm.weight"], eps)


def logits(model: Model, hidden: np.ndarray) -> np.ndarray:
    name = "token_embd.weight" if model.config["tied_embeddings"] else "output.weight"
    return matmul(model, hidden, name)


def forward(model: Model, ids) -> np.ndarray:
    """Logits of every position: float64 [n_tokens, vocab_size]."""
    return logits(model, hidden_states(model, ids))


def greedy(model: Model, ids, n_new: int) -> list:
    """Greedy continuation (argmax, ties to the lowest id), not stopping at EOS."""
    cache = KVCache(model.config["n_layers"])
    last = hidden_states(model, ids, cache)[-1]
    out = []
    for _ in range(n_new):
        token = int(np.argmax(logits(model, last)))  # np.argmax keeps the first max
        out.append(token)
        last = hidden_states(model, [token], cache)[-1]
    return out


def top_k(logits: np.ndarray, k: int):
    """Ids of the k largest logits, largest first, ties to the lowest id."""
    order = np.lexsort((np.arange(len(logits)), -logits))[:k]
    return [int(i) for i in order], [float(logits[i]) for i in order]


def _parse_ids(text: str) -> list:
    try:
        return [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="numpy float64 reference forward pass of a .rcyl llama or gemma3 model")
    p.add_argument("model", help=".rcyl file")
    p.add_argument("--tokens", type=_parse_ids, required=True, help="comma-separated token ids")
    p.add_argument("--out", help="write the logits of all positions here: little-endian float32 "
                                 "[n_tokens, vocab_size], row-major")
    p.add_argument("--greedy", type=int, metavar="N", help="print the ids of N greedy tokens as JSON")
    p.add_argument("--inputs", choices=("adaptive", "fine", "float"), default="adaptive",
                   help="matmul inputs: quantized as the runtime's default (adaptive, 8 or 15 bits "
                        "per block) or its fine precision (15 bits), or not at all as Hugging Face "
                        "computes (float); default adaptive")
    args = p.parse_args(argv)
    try:
        model = load_model(args.model)
        model.inputs = args.inputs
        if args.greedy is not None:
            print(json.dumps(greedy(model, args.tokens, args.greedy)))
            return 0
        logits = forward(model, args.tokens)
    except (rcyl.RcylError, ValueError, OSError) as e:
        print(f"reference: error: {e}", file=sys.stderr)
        return 1
    if args.out:
        logits.astype("<f4").tofile(args.out)
    else:
        ids, values = top_k(logits[-1], 5)
        argmax = [int(i) for i in np.argmax(logits, axis=-1)]
        print(json.dumps({"argmax": argmax, "top5": {"ids": ids, "logits": values}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
