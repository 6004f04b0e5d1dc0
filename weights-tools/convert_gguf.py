"""Convert a llama or gemma3 GGUF file to .rcyl (docs/FORMAT.md).

usage: convert INPUT.gguf OUTPUT.rcyl [--quant keep|q8_0|q4_1|f16|f32]

With --quant keep (the default) every F32 / F16 / Q8_0 / Q4_1 / Q5_0 / Q4_K / Q6_K tensor
is copied byte for byte: GGUF's block layouts are the .rcyl ones, and GGUF's Q/K row order
is our `rope_pairing` ("adjacent" for llama, "halves" for gemma3, as llama.cpp runs them).
Any other --quant re-quantizes every matrix (norms stay f32).
"""

import argparse
import hashlib
import os
import re
import sys
import time
from importlib import metadata as pkg_metadata

import numpy as np
import gguf
from gguf import GGMLQuantizationType as GT

import quants
import rcyl

# GGUF types that .rcyl stores unchanged.
KEEPABLE = {GT.F32: "f32", GT.F16: "f16", GT.Q8_0: "q8_0", GT.Q4_1: "q4_1",
            GT.Q5_0: "q5_0", GT.Q4_K: "q4_k", GT.Q6_K: "q6_k"}
QUANT_CHOICES = ("keep", "q8_0", "q4_1", "f16", "f32")


# GPT-2 byte-level pre-tokenizers the runtime implements (PreTokenizer.swift).
BYTE_LEVEL_PRE_TOKENIZERS = ("smollm",)


class ConvertError(Exception):
    pass


class GGUFModel:
    """The parts of a GGUF file the converter reads: typed key lookups and tensors."""

    def __init__(self, path: str):
        with open(path, "rb") as f:
            head = f.read(24)
        if len(head) < 24:
            raise ConvertError(f"not a GGUF file: {len(head)} bytes, too short for a GGUF header (truncated?)")
        if head[:4] != b"GGUF":
            raise ConvertError(f"not a GGUF file: it starts with {head[:4]!r}, not the magic b'GGUF'")
        try:
            self.reader = gguf.GGUFReader(path)
        except Exception as e:  # gguf raises ValueError/struct/numpy errors on junk input
            if "GGMLQuantizationType" in str(e):
                raise ConvertError(f"a tensor has an unknown GGUF tensor type ({e})") from None
            raise ConvertError(f"not a readable GGUF file: truncated or corrupt ({e})") from None
        if self.reader.endianess != gguf.GGUFEndian.LITTLE:
            # Block scales would be big-endian: copying them verbatim would be wrong.
            raise ConvertError("big-endian GGUF files are not supported")
        self.tensors = {t.name: t for t in self.reader.tensors}

    def get(self, key: str, default=None):
        field = self.reader.fields.get(key)
        if field is None:
            return default
        try:
            return field.contents()
        except (UnicodeDecodeError, ValueError, IndexError) as e:  # corrupt string or array
            raise ConvertError(f"GGUF key {key!r} has a corrupt value ({e})") from None

    def require(self, key: str):
        value = self.get(key)
        if value is None:
            raise ConvertError(f"GGUF key {key!r} is missing")
        return value


def f32_to_json(value: float) -> float:
    """GGUF stores these as float32; write the shortest decimal that round-trips in
    float32 (1e-05, not 9.999999747378752e-06)."""
    return float(str(np.float32(value)))


def build_config(g: GGUFModel) -> dict:
    arch = g.require("general.architecture")
    if arch not in rcyl.ARCHITECTURES:
        raise ConvertError(f"unsupported architecture {arch!r} (this converter handles: {', '.join(rcyl.ARCHITECTURES)})")
    k = f"{arch}."
    if g.get(k + "expert_count", 0):
        raise ConvertError("mixture-of-experts llama models are not supported")
    scaling = g.get(k + "rope.scaling.type")
    if scaling not in (None, "none"):
        raise ConvertError(f"RoPE scaling {scaling!r} is not supported")

    n_heads = g.require(k + "attention.head_count")
    n_kv_heads = g.get(k + "attention.head_count_kv", n_heads)
    if isinstance(n_heads, list) or isinstance(n_kv_heads, list):
        raise ConvertError("per-layer head counts are not supported")
    d_model = g.require(k + "embedding_length")
    head_dim = g.get(k + "attention.key_length")
    if head_dim is None:
        head_dim = g.get(k + "rope.dimension_count")
    if head_dim is None:
        if d_model % n_heads:
            raise ConvertError(f"embedding_length {d_model} is not a multiple of head_count {n_heads}")
        head_dim = d_model // n_heads
    for key in ("attention.value_length", "rope.dimension_count"):
        other = g.get(k + key)
        if other is not None and other != head_dim:
            # Partial rotary or different V width: our forward pass has neither.
            raise ConvertError(f"{k}{key} = {other} differs from head_dim {head_dim}; not supported")

    embd = g.tensors.get("token_embd.weight")
    if embd is None:
        raise ConvertError("required tensor 'token_embd.weight' is missing")
    vocab_rows = int(embd.shape[1])  # GGUF lists the contiguous dimension first
    vocab_size = g.get(k + "vocab_size", vocab_rows)
    if vocab_size != vocab_rows:
        raise ConvertError(f"{k}vocab_size {vocab_size} != token_embd.weight rows {vocab_rows}")

    config = {
        "n_layers": g.require(k + "block_count"),
        "d_model": d_model,
        "n_heads": n_heads,
        "n_kv_heads": n_kv_heads,
        "head_dim": head_dim,
        "ffn_dim": g.require(k + "feed_forward_length"),
        "vocab_size": vocab_size,
        "context_length": g.require(k + "context_length"),
        "rope_theta": f32_to_json(g.get(k + "rope.freq_base", 10000.0)),
        "rms_norm_eps": f32_to_json(g.require(k + "attention.layer_norm_rms_epsilon")),
        "tied_embeddings": "output.weight" not in g.tensors,
        "rope_pairing": "adjacent",  # GGUF's row layout, kept as is
    }
    if arch == "gemma3":
        config.update(gemma3_config(g, config))
    return config


# Gemma 3's sliding-window layers: five of every six (llama.cpp's swa pattern 6; Hugging
# Face's `sliding_window_pattern`), the sixth, twelfth, ... layer attends to everything.
GEMMA3_GLOBAL_EVERY = 6
# Gemma 3 rotates local (sliding-window) layers with base 1e4 (Hugging Face's
# `rope_local_base_freq`); the GGUF stores only the global base.
GEMMA3_SLIDING_ROPE_THETA = 10000.0


def gemma3_config(g: GGUFModel, config: dict) -> dict:
    """What Gemma 3 adds to the llama config. The GGUF's norm weights already hold Gemma's
    `1 + w` (llama.cpp's converter adds the 1), so norms multiply by the stored weight as
    llama's do."""
    k = "gemma3."
    window = g.require(k + "attention.sliding_window")
    if g.get(k + "final_logit_softcapping") or g.get(k + "attn_logit_softcapping"):
        raise ConvertError("logit soft-capping is not supported (Gemma 3 has none; Gemma 2 does)")
    n = config["n_layers"]
    return {
        # llama.cpp runs Gemma with NEOX rotary embeddings and its GGUF converter does not
        # permute Q/K rows: dimension i pairs with i + head_dim/2.
        "rope_pairing": "halves",
        "rope_theta_sliding": GEMMA3_SLIDING_ROPE_THETA,
        "sliding_window": int(window),
        "layer_types": ["full_attention" if (i + 1) % GEMMA3_GLOBAL_EVERY == 0 else "sliding_attention"
                        for i in range(n)],
        # query_pre_attn_scalar ** -0.5 with query_pre_attn_scalar = head_dim, as llama.cpp
        # assumes for every Gemma 3 but the 27B (which the GGUF cannot tell apart: refused).
        "attention_scale": f32_to_json(config["head_dim"] ** -0.5),
        # Embeddings are multiplied by sqrt(d_model), rounded to float32 as Hugging Face does.
        "embedding_scale": float(np.float32(config["d_model"] ** 0.5)),
        "activation": "gelu_tanh",
    }


def build_tokenizer(g: GGUFModel) -> dict:
    model = g.require("tokenizer.ggml.model")
    if model not in ("gpt2", "llama"):
        raise ConvertError(f"unsupported tokenizer model {model!r} "
                           "(known: 'gpt2' byte-level BPE, 'llama' SentencePiece)")
    tokens = g.require("tokenizer.ggml.tokens")
    types = g.get("tokenizer.ggml.token_type")
    if types is None:
        types = [1] * len(tokens)
    bad = [i for i, t in enumerate(types) if not 1 <= t <= 6]
    if bad:
        raise ConvertError(f"token {bad[0]} has token type {types[bad[0]]}, not a known code 1..6")

    def token_id(key):
        v = g.get(f"tokenizer.ggml.{key}_token_id")
        return int(v) if v is not None else None

    if model == "llama":
        scores = g.require("tokenizer.ggml.scores")
        if len(scores) != len(tokens):
            raise ConvertError(f"{len(scores)} token scores for {len(tokens)} tokens")
        return {
            "model": "sentencepiece",
            "tokens": list(tokens),
            "scores": [f32_to_json(x) for x in scores],
            "token_types": [int(t) for t in types],
            "bos_id": token_id("bos"),
            "eos_id": token_id("eos"),
            "unk_id": token_id("unknown"),
            "pad_id": token_id("padding"),
            # llama.cpp's defaults for SentencePiece vocabularies: BOS yes, space prefix yes.
            "add_bos": bool(g.get("tokenizer.ggml.add_bos_token", True)),
            "add_space_prefix": bool(g.get("tokenizer.ggml.add_space_prefix", True)),
        }
    # The runtime knows one splitting rule; refusing the others here is clearer than a file
    # that converts and then cannot load (a Llama 3 GGUF says "llama-bpe").
    pre = g.get("tokenizer.ggml.pre", "default")
    if pre not in BYTE_LEVEL_PRE_TOKENIZERS:
        raise ConvertError(f"unsupported pre-tokenizer {pre!r} (supported: {', '.join(BYTE_LEVEL_PRE_TOKENIZERS)})")
    return {
        "model": "gpt2-bpe",
        "pre_tokenizer": pre,
        "tokens": list(tokens),
        "token_types": [int(t) for t in types],
        "merges": list(g.get("tokenizer.ggml.merges", [])),
        "bos_id": token_id("bos"),
        "eos_id": token_id("eos"),
        "unk_id": token_id("unknown"),
        "pad_id": token_id("padding"),
        # llama.cpp's default for BPE vocabularies is not to add BOS.
        "add_bos": bool(g.get("tokenizer.ggml.add_bos_token", False)),
    }


def chat_info(template, architecture: str):
    """(chat_template kind, default system prompt) recognised from a Jinja template. Gemma 3
    GGUFs (the base models') carry no template: they get Gemma 3's turn format, which the
    instruction-tuned models of the same vocabulary were trained on."""
    if (not template and architecture == "gemma3") or (template and "<start_of_turn>" in template):
        return "gemma3", None
    if not template or "<|im_start|>" not in template:
        return None, None
    # ChatML templates that inject a default system message spell it out literally.
    m = re.search(r"<\|im_start\|>system(?:\n|\\n)(.*?)<\|im_end\|>", template, re.S)
    prompt = m.group(1) if m else None
    if prompt is not None and any(s in prompt for s in ("{{", "{%", "'", '"', "+")):
        prompt = None  # the system text is computed by Jinja, not a literal
    return "chatml", prompt


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def plan_tensors(g: GGUFModel, architecture: str, config: dict, quant: str) -> list:
    expected = rcyl.tensor_shapes(config, architecture)
    extra = sorted(set(g.tensors) - set(expected))
    if extra:
        raise ConvertError(f"unsupported tensor {extra[0]!r} (not part of a plain {architecture} model)")
    sources = []
    for name, shape in expected.items():
        t = g.tensors.get(name)
        if t is None:
            raise ConvertError(f"required tensor {name!r} is missing")
        gguf_shape = tuple(int(n) for n in reversed(t.shape))  # GGUF lists ne[0] first
        if gguf_shape != shape:
            raise ConvertError(f"tensor {name!r} has shape {list(gguf_shape)}, the config implies {list(shape)}")
        sources.append(_tensor_source(name, t, shape, quant))
    return sources


def _tensor_source(name: str, t, shape: tuple, quant: str) -> rcyl.TensorSource:
    src = KEEPABLE.get(t.tensor_type)
    is_norm = len(shape) == 1
    if is_norm:
        target = "f32"  # FORMAT.md: norm weights are f32
    elif quant == "keep":
        if src is None:
            raise ConvertError(
                f"tensor {name!r} has GGUF type {t.tensor_type.name}, which .rcyl cannot store "
                f"unchanged; pass --quant q8_0 (or q4_1, f16, f32) to re-quantize")
        target = src
    else:
        target = quant
    dt = rcyl.DTYPES[target]
    if shape[-1] % dt.block_elems:
        raise ConvertError(f"tensor {name!r} rows have {shape[-1]} elements, not a multiple of "
                           f"{dt.block_elems}, so it cannot be stored as {target}")

    if src == target:
        # Same layout: copy GGUF's bytes verbatim (lossless), straight from the mmap.
        return rcyl.TensorSource(name, target, shape, lambda: t.data)

    def requantize():
        try:
            values = gguf.quants.dequantize(t.data, t.tensor_type)
        except NotImplementedError:
            raise ConvertError(f"tensor {name!r}: cannot decode GGUF type {t.tensor_type.name}") from None
        try:
            return quants.encode(target, values.astype(np.float32).reshape(shape))
        except ValueError as e:
            raise ConvertError(f"tensor {name!r}: {e}") from None
    return rcyl.TensorSource(name, target, shape, requantize)


def convert(input_path: str, output_path: str, quant: str = "keep") -> rcyl.Header:
    g = GGUFModel(input_path)
    config = build_config(g)
    tokenizer = build_tokenizer(g)
    if len(tokenizer["tokens"]) != config["vocab_size"]:
        raise ConvertError(f"{len(tokenizer['tokens'])} tokens but vocab_size {config['vocab_size']}")
    architecture = g.require("general.architecture")
    kind, system_prompt = chat_info(g.get("tokenizer.chat_template"), architecture)
    if kind is None:
        print("convert: warning: chat template not recognised as ChatML or Gemma 3's; chat_template = null",
              file=sys.stderr)
    metadata = {
        "architecture": architecture,
        "config": config,
        "tokenizer": tokenizer,
        "chat_template": kind,
        "default_system_prompt": system_prompt,
        "source": {
            "file": os.path.basename(input_path),
            "sha256": sha256_file(input_path),
            "converter": f"weights-tools/convert_gguf.py (gguf {pkg_metadata.version('gguf')}, quant {quant})",
        },
    }
    sources = plan_tensors(g, architecture, config, quant)
    try:
        return rcyl.write_rcyl(output_path, metadata, sources)
    except rcyl.RcylError as e:
        raise ConvertError(f"output would be invalid: {e}") from None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="convert", description="Convert a llama or gemma3 GGUF file to .rcyl.")
    p.add_argument("input", help="GGUF file")
    p.add_argument("output", help=".rcyl file to write (replaced atomically)")
    p.add_argument("--quant", choices=QUANT_CHOICES, default="keep",
                   help="keep: copy every block unchanged (default; F32, F16, Q8_0, Q4_1, Q5_0, Q4_K, Q6_K); "
                        "otherwise re-quantize every matrix to this dtype")
    args = p.parse_args(argv)
    if not os.path.isfile(args.input):
        print(f"convert: error: {args.input}: no such file", file=sys.stderr)
        return 1
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(out_dir):
        print(f"convert: error: output directory {out_dir} does not exist", file=sys.stderr)
        return 1
    start = time.monotonic()
    try:
        header = convert(args.input, args.output, args.quant)
    except (ConvertError, rcyl.RcylError) as e:
        print(f"convert: error: {args.input}: {e}", file=sys.stderr)
        return 1
    print(f"convert: wrote {args.output} ({header.file_length:,} bytes, crc32 {header.checksum:08x}) "
          f"in {time.monotonic() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
