"""Unit tests of weights-tools on tiny synthetic models (seconds, no download).

run: weights-tools/.venv/bin/python -m unittest discover -s weights-tools -p 'test_*.py'

The real-model checks are check_reference.py (against Hugging Face) and inspect --verify.
"""

import json
import os
import struct
import subprocess
import sys
import tempfile
import types
import unittest

import gguf
import numpy as np
from gguf import GGMLQuantizationType as GT

import convert_gguf
import quants
import rcyl
import reference

TOOLS = os.path.dirname(os.path.abspath(__file__))
TINY = dict(n_layers=2, d_model=64, n_heads=4, n_kv_heads=2, head_dim=16, ffn_dim=96, vocab=40)


def write_tiny_gguf(path, arch="llama", drop=(), matrix_type=GT.Q4_1, d_model=TINY["d_model"], pre="smollm"):
    """A random llama GGUF shaped like TINY; `drop` omits tensors by name."""
    t = dict(TINY, d_model=d_model)
    rng = np.random.default_rng(1)
    w = gguf.GGUFWriter(path, arch)
    w.add_block_count(t["n_layers"])
    w.add_context_length(128)
    w.add_embedding_length(t["d_model"])
    w.add_feed_forward_length(t["ffn_dim"])
    w.add_head_count(t["n_heads"])
    w.add_head_count_kv(t["n_kv_heads"])
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(["<|im_start|>", "<|im_end|>"] + [chr(0x41 + i) for i in range(t["vocab"] - 2)])
    w.add_token_types([3, 3] + [1] * (t["vocab"] - 2))
    w.add_token_merges(["A B", "C D"])
    w.add_eos_token_id(1)
    w.add_chat_template("{{'<|im_start|>system\nBe brief.<|im_end|>\n'}}")

    def add(name, shape):  # shape outer-first, like .rcyl
        if name in drop:
            return
        x = (rng.standard_normal(shape) * 0.2).astype(np.float32)
        if len(shape) == 1 or matrix_type == GT.F32:
            w.add_tensor(name, x)
        else:
            w.add_tensor(name, gguf.quants.quantize(x, matrix_type), raw_dtype=matrix_type)

    d, ff, hd = t["d_model"], t["ffn_dim"], t["head_dim"]
    add("token_embd.weight", (t["vocab"], d))
    add("output_norm.weight", (d,))
    for i in range(t["n_layers"]):
        p = f"blk.{i}."
        add(p + "attn_norm.weight", (d,))
        add(p + "attn_q.weight", (t["n_heads"] * hd, d))
        add(p + "attn_k.weight", (t["n_kv_heads"] * hd, d))
        add(p + "attn_v.weight", (t["n_kv_heads"] * hd, d))
        add(p + "attn_output.weight", (d, t["n_heads"] * hd))
        add(p + "ffn_norm.weight", (d,))
        add(p + "ffn_gate.weight", (ff, d))
        add(p + "ffn_up.weight", (ff, d))
        add(p + "ffn_down.weight", (d, ff))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def read_bytes(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class TmpDir(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)


class QuantTests(unittest.TestCase):
    def test_encoders_match_ggml_reference_bytes(self):
        rng = np.random.default_rng(0)
        x = (rng.standard_normal((16, 128)) * rng.uniform(1e-3, 4, (16, 1))).astype(np.float32)
        x[0, :32] = 0  # all-zero block: d = 0 must not divide by zero
        x[1, :32] = 1.25  # constant block
        for name, qtype in (("q8_0", GT.Q8_0), ("q4_1", GT.Q4_1)):
            ours = quants.encode(name, x).tobytes()
            self.assertEqual(ours, gguf.quants.quantize(x, qtype).tobytes(), name)
            back = quants.dequantize(name, ours, x.shape)
            expect = gguf.quants.dequantize(np.frombuffer(ours, np.uint8).reshape(16, -1), qtype)
            np.testing.assert_array_equal(back, expect)

    def test_decoders_match_gguf_py(self):
        """q5_0, q4_k and q6_k (decoded only: they come from GGUF files) on random blocks
        with finite f16 scales of either sign: gguf-py's float32 values, bit for bit."""
        rng = np.random.default_rng(3)
        scales = {"q5_0": (GT.Q5_0, 22, [0]), "q4_k": (GT.Q4_K, 144, [0, 2]), "q6_k": (GT.Q6_K, 210, [208])}
        for name, (qtype, size, at) in scales.items():
            with self.subTest(dtype=name):
                raw = rng.integers(0, 256, (64, size), dtype=np.uint8)
                for a in at:
                    raw[:, a:a + 2] = rng.uniform(-0.02, 0.02, (64, 1)).astype("<f2").view(np.uint8)
                elements = rcyl.DTYPES[name].block_elems
                ours = quants.dequantize(name, raw.tobytes(), (4, 16 * elements))
                expect = gguf.quants.dequantize(raw, qtype).astype(np.float32).reshape(4, -1)
                np.testing.assert_array_equal(ours.view(np.uint32), expect.view(np.uint32))
                self.assertEqual(rcyl.tensor_nbytes(name, [4, 16 * elements]), raw.size)

    def test_reference_quantizes_inputs_of_every_block_type(self):
        rng = np.random.default_rng(4)
        x = rng.standard_normal((3, 256)).astype(np.float32)
        w = rng.standard_normal((5, 256))
        for dtype in ("f32", "f16", "q4_1", "q8_0", "q5_0", "q4_k", "q6_k"):
            for inputs in ("adaptive", "fine"):
                model = types.SimpleNamespace(inputs=inputs, dtypes={"w": dtype}, weights={"w": w})
                seen = x if dtype in ("f32", "f16") else reference.quantize_activations(x, inputs)
                np.testing.assert_array_equal(reference.matmul(model, x, "w"), seen @ w.T, dtype)

    def test_adaptive_inputs_take_8_bits_only_in_blocks_without_an_outlier(self):
        plain = np.linspace(-1, 1, 32, dtype=np.float32)  # max|x| / mean|x| about 2
        spiky = plain.copy()
        spiky[5] = 40  # one outlier: the ratio is about 24
        x = np.concatenate([plain, spiky])[None, :]
        fine = reference.quantize_activations(x, "fine")
        adaptive = reference.quantize_activations(x, "adaptive")
        # 8 bits: steps of max|x| / 127; 15 bits: of max|x| / 16383.
        np.testing.assert_allclose(adaptive[0, :32] * 127, np.rint(plain * np.float32(127)), atol=1e-5)
        np.testing.assert_array_equal(adaptive[0, 32:], fine[0, 32:])
        self.assertGreater(np.max(np.abs(adaptive[0, :32] - fine[0, :32])), 1e-3)

    def test_rejects_partial_blocks(self):
        with self.assertRaises(ValueError):
            quants.encode("q8_0", np.zeros((2, 48), np.float32))


class ConvertTests(TmpDir):
    def convert(self, **kw):
        src = self.path("in.gguf")
        quant = kw.pop("quant", "keep")
        write_tiny_gguf(src, **kw)
        out = self.path("out.rcyl")
        return convert_gguf.convert(src, out, quant), out, src

    def test_keep_is_byte_for_byte(self):
        _, out, src = self.convert()
        g = gguf.GGUFReader(src)
        with rcyl.RcylFile(out) as f:
            self.assertEqual(f.compute_checksum(), f.header.checksum)
            self.assertEqual(f.metadata["chat_template"], "chatml")
            self.assertEqual(f.metadata["default_system_prompt"], "Be brief.")
            self.assertEqual(f.metadata["config"]["head_dim"], 16)
            self.assertTrue(f.metadata["config"]["tied_embeddings"])
            for t in g.tensors:
                entry = f.by_name[t.name]
                self.assertEqual(list(entry.shape), [int(n) for n in reversed(t.shape)])
                self.assertEqual(bytes(f.tensor_data(t.name)), t.data.tobytes(), t.name)

    def test_requantize_each_target(self):
        for target in ("q8_0", "f16", "f32"):
            _, out, _ = self.convert(quant=target)
            with rcyl.RcylFile(out) as f:
                dtypes = {t.dtype for t in f.tensors if len(t.shape) == 2}
                self.assertEqual(dtypes, {target})
                self.assertEqual(f.by_name["output_norm.weight"].dtype, "f32")

    def test_clear_errors(self):
        cases = [
            (dict(arch="qwen2"), "unsupported architecture 'qwen2'"),
            (dict(pre="llama-bpe"), "unsupported pre-tokenizer 'llama-bpe'"),
            (dict(drop=("blk.1.ffn_up.weight",)), "'blk.1.ffn_up.weight' is missing"),
            (dict(matrix_type=GT.Q4_0), "GGUF type Q4_0"),
            (dict(matrix_type=GT.F32, d_model=48, quant="q8_0"), "not a multiple of 32"),
        ]
        for kw, message in cases:
            with self.subTest(kw=kw):
                with self.assertRaises(convert_gguf.ConvertError) as cm:
                    self.convert(**kw)
                self.assertIn(message, str(cm.exception))
                self.assertFalse(os.path.exists(self.path("out.rcyl")))

    def test_cli_exit_status(self):
        write_tiny_gguf(self.path("in.gguf"), arch="qwen2")
        r = subprocess.run([sys.executable, os.path.join(TOOLS, "convert_gguf.py"),
                            self.path("in.gguf"), self.path("out.rcyl")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("unsupported architecture", r.stderr)

    def test_failed_write_leaves_nothing(self):
        _, out, _ = self.convert()
        before = read_bytes(out)
        with rcyl.RcylFile(out) as f:
            meta = f.metadata
            tensors = [rcyl.TensorSource(t.name, t.dtype, t.shape, lambda: b"") for t in f.tensors]
        with self.assertRaises(rcyl.RcylError):
            rcyl.write_rcyl(out, meta, tensors)  # produces 0 bytes: must fail half way
        self.assertEqual(read_bytes(out), before)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["in.gguf", "out.rcyl"])


class CorruptGGUFTests(TmpDir):
    """Truncated, corrupted and unsupported GGUFs: the CLI exits 1 with a message that names
    the problem (no traceback), and writes no output or temporary file."""

    def run_cli(self, data: bytes, *extra):
        bad = self.path("bad.gguf")
        with open(bad, "wb") as f:
            f.write(data)
        r = subprocess.run([sys.executable, os.path.join(TOOLS, "convert_gguf.py"), bad, self.path("out.rcyl"),
                            *extra], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("convert: error:", r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["bad.gguf", "in.gguf"], "output or temp file left")
        return r.stderr

    def good(self, **kw):
        write_tiny_gguf(self.path("in.gguf"), **kw)
        return read_bytes(self.path("in.gguf"))

    @staticmethod
    def type_field(data: bytes, name: bytes) -> int:
        """Offset of the u32 tensor type in `name`'s GGUF tensor info."""
        at = data.index(struct.pack("<Q", len(name)) + name) + 8 + len(name)
        n_dims = struct.unpack_from("<I", data, at)[0]
        return at + 4 + 8 * n_dims

    def test_truncated(self):
        good = self.good()
        for cut in (0, 3, 4, 23, 24, 100, 500, 1000, len(good) // 2, len(good) - 100, len(good) - 1):
            with self.subTest(cut=cut):
                err = self.run_cli(good[:cut])
                self.assertTrue("too short for a GGUF header" in err or "truncated or corrupt" in err, err)

    def test_bad_magic(self):
        err = self.run_cli(b"GGML" + self.good()[4:])
        self.assertIn("not the magic", err)

    def test_corrupted_bytes(self):
        # Every single-byte corruption in the header, key-value and tensor-info region either
        # converts (a harmless byte) or fails cleanly; none may crash or leave a file.
        import random
        good = self.good()
        info_end = good.index(b"blk.1.ffn_down.weight") + 64
        rng = random.Random(1)
        for pos in sorted(rng.sample(range(info_end), 25)):
            data = bytearray(good)
            data[pos] ^= 0xFF
            with self.subTest(pos=pos):
                bad = self.path("bad.gguf")
                with open(bad, "wb") as f:
                    f.write(data)
                out = self.path("out.rcyl")
                r = subprocess.run([sys.executable, os.path.join(TOOLS, "convert_gguf.py"), bad, out],
                                   capture_output=True, text=True)
                self.assertNotIn("Traceback", r.stderr)
                if r.returncode == 0:
                    with rcyl.RcylFile(out) as f:
                        self.assertEqual(f.compute_checksum(), f.header.checksum)
                    os.remove(out)
                else:
                    self.assertEqual(r.returncode, 1)
                    self.assertIn("convert: error:", r.stderr)
                self.assertEqual(sorted(os.listdir(self.tmp)), ["bad.gguf", "in.gguf"])

    def test_invalid_utf8_in_a_string_value(self):
        data = bytearray(self.good())
        at = data.index(b"Be brief.")
        data[at] = 0xC3  # starts a two-byte character; the next byte is not a continuation
        data[at + 1] = 0x41
        err = self.run_cli(bytes(data))
        self.assertIn("'tokenizer.chat_template' has a corrupt value", err)

    def test_unknown_tensor_type(self):
        data = bytearray(self.good())
        struct.pack_into("<I", data, self.type_field(bytes(data), b"blk.0.attn_q.weight"), 99)
        self.assertIn("unknown GGUF tensor type", self.run_cli(bytes(data)))

    def test_unsupported_tensor_types(self):
        for t in (GT.Q4_0, GT.Q5_1):
            with self.subTest(type=t.name):
                err = self.run_cli(self.good(matrix_type=t))
                self.assertIn(f"GGUF type {t.name}", err)
                self.assertIn("--quant", err)

    def test_truncated_real_gguf(self):
        real = os.path.join(TOOLS, ".cache", "SmolLM2-135M-Instruct.Q4_1.gguf")
        if not os.path.exists(real):
            self.skipTest("the default model's GGUF is not cached (weights-tools/fetch-default)")
        self.good()
        size = os.path.getsize(real)
        with open(real, "rb") as f:
            for cut in (1 << 20, size - 4096):
                f.seek(0)
                with self.subTest(cut=cut):
                    self.assertIn("truncated or corrupt", self.run_cli(f.read(cut)))


class ReaderTests(TmpDir):
    """Malformed files must give a clear RcylError, never a crash."""

    def setUp(self):
        super().setUp()
        write_tiny_gguf(self.path("in.gguf"))
        self.good = self.path("good.rcyl")
        convert_gguf.convert(self.path("in.gguf"), self.good)
        self.raw = read_bytes(self.good)
        with rcyl.RcylFile(self.good) as f:
            self.header, self.meta = f.header, f.metadata
            self.directory = [dict(name=t.name, dtype=t.dtype, shape=list(t.shape),
                                   offset=t.offset, length=t.length) for t in f.tensors]

    def expect_error(self, data: bytes, message: str):
        bad = self.path("bad.rcyl")
        with open(bad, "wb") as f:
            f.write(data)
        with self.assertRaises(rcyl.RcylError) as cm:
            rcyl.RcylFile(bad).close()
        self.assertIn(message, str(cm.exception))

    def patch(self, offset: int, fmt: str, value) -> bytes:
        data = bytearray(self.raw)
        struct.pack_into(fmt, data, offset, value)
        return bytes(data)

    def rebuild(self, meta=None, directory=None) -> bytes:
        """Same tensor data, new metadata/directory JSON, consistent header."""
        h = self.header
        m = json.dumps(meta if meta is not None else self.meta).encode()
        d = json.dumps(directory if directory is not None else self.directory).encode()
        data_off = rcyl.align_up(rcyl.HEADER_SIZE + len(m) + len(d))
        body = m + d + bytes(data_off - rcyl.HEADER_SIZE - len(m) - len(d))
        body += self.raw[h.data_offset:]
        header = rcyl.Header(1, 128, 128, len(m), 128 + len(m), len(d), data_off, h.data_length,
                             data_off + h.data_length, 1, 0)
        return header.pack() + body

    def test_good_file_opens(self):
        rcyl.RcylFile(self.good).close()
        self.rebuild()  # the rebuild helper itself yields a valid file
        with open(self.path("re.rcyl"), "wb") as f:
            f.write(self.rebuild())
        rcyl.RcylFile(self.path("re.rcyl")).close()

    def test_header_rules(self):
        self.expect_error(b"", "shorter than the 128-byte header")
        self.expect_error(b"GGUF" + self.raw[4:], "bad magic")
        self.expect_error(self.patch(8, "<I", 2), "format_version 2")
        self.expect_error(self.patch(12, "<I", 64), "header_size")
        self.expect_error(self.patch(100, "<B", 1), "reserved")
        self.expect_error(self.patch(72, "<I", 7), "checksum_kind 7")
        self.expect_error(self.patch(48, "<Q", self.header.data_offset + 1), "not a multiple of 64")
        self.expect_error(self.raw[:-1], "file_length")
        self.expect_error(self.raw + b"\0", "file_length")
        self.expect_error(self.patch(16, "<Q", 64), "inside the header")

    def test_metadata_rules(self):
        self.expect_error(self.patch(128, "<B", ord("[")), "metadata")
        meta = json.loads(json.dumps(self.meta))
        meta["architecture"] = "mamba"
        self.expect_error(self.rebuild(meta=meta), "unsupported architecture 'mamba'")
        meta = json.loads(json.dumps(self.meta))
        meta["config"]["n_kv_heads"] = 3
        self.expect_error(self.rebuild(meta=meta), "not a multiple of n_kv_heads")
        meta = json.loads(json.dumps(self.meta))
        del meta["config"]["rope_theta"]
        self.expect_error(self.rebuild(meta=meta), "config.rope_theta is missing")
        meta = json.loads(json.dumps(self.meta))
        meta["tokenizer"]["eos_id"] = 10**6
        self.expect_error(self.rebuild(meta=meta), "tokenizer.eos_id")

    def test_directory_rules(self):
        def with_entry(i, **change):
            d = json.loads(json.dumps(self.directory))
            d[i].update(change)
            return self.rebuild(directory=d)

        self.expect_error(with_entry(0, dtype="q4_0"), "unknown dtype 'q4_0'")
        self.expect_error(with_entry(0, offset=32), "multiple of 64")
        self.expect_error(with_entry(0, length=1), "length 1")
        self.expect_error(with_entry(1, offset=0), "overlap")
        self.expect_error(with_entry(1, name=self.directory[0]["name"]), "appears twice")
        self.expect_error(with_entry(0, offset=self.header.data_length), "past the data region")
        self.expect_error(with_entry(3, shape=[32, 128]), "the config implies [64, 64]")
        self.expect_error(self.rebuild(directory=self.directory[:-1]), "is missing")

    def test_checksum_detects_corruption(self):
        data = bytearray(self.raw)
        data[self.header.data_offset + 5] ^= 0x40
        bad = self.path("bad.rcyl")
        with open(bad, "wb") as f:
            f.write(data)
        with rcyl.RcylFile(bad) as f:  # structurally fine...
            self.assertNotEqual(f.compute_checksum(), f.header.checksum)  # ...but corrupt
        r = subprocess.run([sys.executable, os.path.join(TOOLS, "inspect_rcyl.py"), "--verify", bad],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("checksum MISMATCH", r.stderr)


class ReferenceTests(TmpDir):
    def test_cached_greedy_matches_full_forward(self):
        write_tiny_gguf(self.path("in.gguf"))
        convert_gguf.convert(self.path("in.gguf"), self.path("m.rcyl"))
        model = reference.load_model(self.path("m.rcyl"))
        prompt = [0, 5, 9, 2]
        generated = reference.greedy(model, prompt, 6)
        seq = list(prompt)
        for token in generated:
            self.assertEqual(token, int(np.argmax(reference.forward(model, seq)[-1])))
            seq.append(token)


if __name__ == "__main__":
    unittest.main()
