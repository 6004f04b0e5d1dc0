"""Write an .rcyl llama model with RANDOM weights but a real shape, for benchmarking only.

usage: make_random_model.py OUT.rcyl --shape smollm2-1.7b [--dtype q4_1|q8_0|f16|f32]
                            [--embd-dtype D] [--seed S] [--tokenizer-from MODEL.rcyl]

The output runs (its activations stay finite through every layer) but generates
gibberish: it exists to time forward passes of models larger than the ones we have real
weights for. Its metadata says so: `source.synthetic = "random weights for benchmarking
only"`.

* Matrices: zero-mean, standard deviation ~0.02 (GPT-2's init scale), uniformly
  distributed. q4_1 / q8_0 blocks are produced directly, not by quantizing floats: random
  bytes for the nibbles / int8s, then per-block float16 scales (0.8..1.2 times the one
  giving std 0.02; q4_1's minimum is -7.5 d so the block mean is 0). f16 / f32 are random
  integers scaled to [-0.02 sqrt(3), 0.02 sqrt(3)).
* `token_embd.weight` (also the output matrix: embeddings are tied) defaults to q8_0 when
  --dtype is q4_1, as in llama.cpp's Q4_1 files and models/SmolLM2-135M-Instruct-Q4_1.rcyl,
  so the logits matmul costs what it costs there; otherwise it uses --dtype.
* Norm weights: f32 ones.
* Tokenizer, chat template and default system prompt are copied from --tokenizer-from
  (default: models/SmolLM2-135M-Instruct-Q4_1.rcyl), so the runtime can tokenize prompts.
* Every tensor draws from its own generator seeded by (seed, tensor index): the file is a
  function of (shape, dtypes, seed, tokenizer) only.

Tensors are generated one at a time while rcyl.write_rcyl streams them to a temp file that
is renamed over OUT when complete, so peak memory is about one tensor.
"""

import argparse
import os
import sys
import time

import numpy as np

import rcyl

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_TOKENIZER = os.path.join(REPO, "models", "SmolLM2-135M-Instruct-Q4_1.rcyl")
SYNTHETIC = "random weights for benchmarking only"
STD = 0.02

# The real SmolLM2 configurations (Hugging Face config.json of each model).
SHAPES = {
    "smollm2-135m": dict(n_layers=30, d_model=576, n_heads=9, n_kv_heads=3, head_dim=64,
                         ffn_dim=1536, vocab_size=49152, context_length=8192, rope_theta=100000.0),
    "smollm2-360m": dict(n_layers=32, d_model=960, n_heads=15, n_kv_heads=5, head_dim=64,
                         ffn_dim=2560, vocab_size=49152, context_length=8192, rope_theta=100000.0),
    "smollm2-1.7b": dict(n_layers=24, d_model=2048, n_heads=32, n_kv_heads=32, head_dim=64,
                         ffn_dim=8192, vocab_size=49152, context_length=8192, rope_theta=130000.0),
}
DTYPE_CHOICES = ("q4_1", "q8_0", "f16", "f32")

# FORMAT.md's block layouts, as numpy records.
_BLOCKS = {
    "q8_0": np.dtype([("d", "<f2"), ("q", "i1", (32,))]),
    "q4_1": np.dtype([("d", "<f2"), ("m", "<f2"), ("qs", "u1", (16,))]),
}
for _name, _dt in _BLOCKS.items():
    assert _dt.itemsize == rcyl.DTYPES[_name].block_bytes
# Standard deviation of the stored integers when their bytes are uniformly random:
# q8_0's int8 in -128..127 and q4_1's nibble in 0..15, i.e. sqrt((n^2 - 1) / 12).
_INT_STD = {"q8_0": np.sqrt((256**2 - 1) / 12), "q4_1": np.sqrt((16**2 - 1) / 12)}


class RandomModelError(Exception):
    pass


def llama_config(shape: dict) -> dict:
    """A full FORMAT.md config from one of SHAPES (or any dict with the same keys)."""
    return dict(shape, rms_norm_eps=1e-05, tied_embeddings=True, rope_pairing="adjacent")


def random_tensor(dtype: str, shape: tuple, rng: np.random.Generator, std: float = STD) -> np.ndarray:
    """Raw bytes (uint8 array) of a zero-mean random tensor with about this std."""
    count = int(np.prod(shape))
    if dtype in ("f32", "f16"):
        # Uniform, not normal: numpy's normal sampler is ~10x slower than raw bits, and
        # the distribution does not matter here. Random int32 / int16 scaled to
        # [-a, a) with a = sqrt(3) std.
        ints = np.dtype("<i4" if dtype == "f32" else "<i2")
        raw = rng.bit_generator.random_raw((count * ints.itemsize + 7) // 8)
        x = raw.view(ints)[:count].astype(np.float32)
        x *= np.float32(np.sqrt(3) * std / 2.0 ** (8 * ints.itemsize - 1))
        return x.astype("<f4" if dtype == "f32" else "<f2").view(np.uint8)
    blocks_dt = _BLOCKS[dtype]
    n_blocks = count // 32
    nbytes = n_blocks * blocks_dt.itemsize
    # Raw 64-bit outputs of the bit generator are the cheapest random bytes numpy has.
    raw = rng.bit_generator.random_raw((nbytes + 7) // 8).view(np.uint8)[:nbytes]
    blocks = raw.view(blocks_dt)
    d = rng.uniform(0.8, 1.2, n_blocks).astype(np.float32) * np.float32(std / _INT_STD[dtype])
    blocks["d"] = d.astype("<f2")
    if dtype == "q4_1":
        # value = d * n + m with n uniform in 0..15 (mean 7.5): m = -7.5 d centres it on 0.
        blocks["m"] = (np.float32(-7.5) * blocks["d"].astype(np.float32)).astype("<f2")
    return raw


def load_tokenizer_metadata(path) -> dict:
    """tokenizer and default_system_prompt of an existing .rcyl file (chat_template is
    always chatml: SmolLM2's template, the only kind FORMAT.md names)."""
    try:
        with rcyl.RcylFile(path) as f:
            m = f.metadata
    except OSError as e:
        raise RandomModelError(f"--tokenizer-from {path}: {e.strerror or e}") from None
    except rcyl.RcylError as e:
        raise RandomModelError(f"--tokenizer-from {path}: {e}") from None
    return {"tokenizer": m["tokenizer"], "chat_template": "chatml",
            "default_system_prompt": m.get("default_system_prompt"),
            "file": os.path.basename(path)}


def make_random_model(out, shape: dict, dtype: str = "q4_1", seed: int = 0, tokenizer=None,
                      embd_dtype: str = None, shape_name: str = "custom") -> rcyl.Header:
    """Write the model; `tokenizer` is load_tokenizer_metadata()'s dict (default: the
    tokenizer of DEFAULT_TOKENIZER). Returns the written header."""
    if dtype not in DTYPE_CHOICES:
        raise RandomModelError(f"unknown dtype {dtype!r} (choose from {', '.join(DTYPE_CHOICES)})")
    if embd_dtype is None:
        embd_dtype = "q8_0" if dtype == "q4_1" else dtype
    if embd_dtype not in DTYPE_CHOICES:
        raise RandomModelError(f"unknown embedding dtype {embd_dtype!r}")
    if tokenizer is None:
        tokenizer = load_tokenizer_metadata(DEFAULT_TOKENIZER)
    config = llama_config(shape)
    n_tokens = len(tokenizer["tokenizer"]["tokens"])
    if n_tokens > config["vocab_size"]:
        raise RandomModelError(f"tokenizer of {tokenizer['file']} has {n_tokens} tokens, more "
                               f"than vocab_size {config['vocab_size']}")
    metadata = {
        "architecture": "llama",
        "config": config,
        "tokenizer": tokenizer["tokenizer"],
        "chat_template": tokenizer["chat_template"],
        "default_system_prompt": tokenizer["default_system_prompt"],
        "source": {
            "synthetic": SYNTHETIC,
            "shape": shape_name,
            "dtype": dtype,
            "embd_dtype": embd_dtype,
            "seed": seed,
            "weights": f"matrices zero-mean std ~{STD}, norms 1",
            "tokenizer_from": tokenizer["file"],
            "generator": "weights-tools/make_random_model.py",
        },
    }

    def source(index: int, name: str, shape: tuple) -> rcyl.TensorSource:
        if len(shape) == 1:
            return rcyl.TensorSource(name, "f32", shape, lambda: np.ones(shape, "<f4"))
        t_dtype = embd_dtype if name == "token_embd.weight" else dtype
        if shape[-1] % rcyl.DTYPES[t_dtype].block_elems:
            raise RandomModelError(f"tensor {name!r} rows have {shape[-1]} elements, not a "
                                   f"multiple of 32 as {t_dtype} needs")
        return rcyl.TensorSource(name, t_dtype, shape, lambda: random_tensor(
            t_dtype, shape, np.random.default_rng([seed, index])))

    sources = [source(i, name, s) for i, (name, s) in enumerate(rcyl.tensor_shapes(config).items())]
    return rcyl.write_rcyl(out, metadata, sources)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="make_random_model",
                                description="Write a random-weights .rcyl llama model (benchmarking only).")
    p.add_argument("output", help=".rcyl file to write (replaced atomically)")
    p.add_argument("--shape", choices=sorted(SHAPES), required=True)
    p.add_argument("--dtype", choices=DTYPE_CHOICES, default="q4_1", help="matrix dtype (default q4_1)")
    p.add_argument("--embd-dtype", choices=DTYPE_CHOICES,
                   help="token_embd.weight dtype (default: q8_0 for --dtype q4_1, else --dtype)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tokenizer-from", default=DEFAULT_TOKENIZER, metavar="MODEL.rcyl",
                   help="copy tokenizer and chat template from this file "
                        "(default: models/SmolLM2-135M-Instruct-Q4_1.rcyl)")
    args = p.parse_args(argv)
    if args.seed < 0:
        p.error("--seed must be non-negative")
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(out_dir):
        print(f"make_random_model: error: output directory {out_dir} does not exist", file=sys.stderr)
        return 1
    start = time.monotonic()
    try:
        tokenizer = load_tokenizer_metadata(args.tokenizer_from)
        header = make_random_model(args.output, SHAPES[args.shape], args.dtype, args.seed,
                                   tokenizer, args.embd_dtype, args.shape)
    except (RandomModelError, rcyl.RcylError) as e:
        print(f"make_random_model: error: {e}", file=sys.stderr)
        return 1
    print(f"make_random_model: wrote {args.output} ({header.file_length:,} bytes, "
          f"crc32 {header.checksum:08x}) in {time.monotonic() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
