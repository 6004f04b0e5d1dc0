"""Unit tests of make_random_model.py on a tiny custom shape (about a second).

run: weights-tools/.venv/bin/python -m unittest discover -s weights-tools -p 'test_*.py'
"""

import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import make_random_model as mrm
import quants
import rcyl
import reference

TOOLS = os.path.dirname(os.path.abspath(__file__))
TINY = dict(n_layers=2, d_model=64, n_heads=4, n_kv_heads=2, head_dim=16, ffn_dim=96,
            vocab_size=40, context_length=128, rope_theta=10000.0)
TOKENIZER = {
    "tokenizer": {
        "model": "gpt2-bpe", "pre_tokenizer": "smollm",
        "tokens": ["<|im_start|>", "<|im_end|>"] + [chr(0x41 + i) for i in range(30)],
        "token_types": [3, 3] + [1] * 30,
        "merges": ["A B", "C D"],
        "bos_id": 0, "eos_id": 1, "unk_id": None, "pad_id": None, "add_bos": False,
    },
    "chat_template": "chatml",
    "default_system_prompt": "Be brief.",
    "file": "tiny",
}


def read_bytes(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class RandomModelTests(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def make(self, name="m.rcyl", **kw):
        out = os.path.join(self.tmp, name)
        kw.setdefault("tokenizer", TOKENIZER)
        mrm.make_random_model(out, TINY, **kw)
        return out

    def test_each_dtype_is_valid_labelled_and_runs(self):
        for dtype in mrm.DTYPE_CHOICES:
            with self.subTest(dtype=dtype):
                out = self.make(dtype=dtype)
                with rcyl.RcylFile(out) as f:
                    self.assertEqual(f.compute_checksum(), f.header.checksum)
                    src = f.metadata["source"]
                    self.assertEqual(src["synthetic"], "random weights for benchmarking only")
                    self.assertEqual(f.metadata["tokenizer"], TOKENIZER["tokenizer"])
                    self.assertEqual(f.metadata["chat_template"], "chatml")
                    self.assertTrue(f.config["tied_embeddings"])
                    embd = "q8_0" if dtype == "q4_1" else dtype
                    self.assertEqual(f.by_name["token_embd.weight"].dtype, embd)
                    for t in f.tensors:
                        values = quants.dequantize(t.dtype, f.tensor_data(t.name), t.shape)
                        if len(t.shape) == 1:
                            self.assertEqual(t.dtype, "f32")
                            np.testing.assert_array_equal(values, 1.0)
                        else:
                            self.assertEqual(t.dtype, embd if t.name == "token_embd.weight" else dtype)
                            self.assertLess(abs(values.mean()), 0.002, t.name)
                            self.assertAlmostEqual(values.std(), mrm.STD, delta=0.002, msg=t.name)
                logits = reference.forward(reference.load_model(out), [0, 5, 9])
                self.assertTrue(np.isfinite(logits).all())
                self.assertGreater(logits.std(), 0)

    def test_seeded_and_deterministic(self):
        a = read_bytes(self.make("a.rcyl", seed=3))
        self.assertEqual(a, read_bytes(self.make("b.rcyl", seed=3)))
        self.assertNotEqual(a, read_bytes(self.make("c.rcyl", seed=4)))

    def test_tokenizer_from_file_and_cli_error(self):
        src = self.make("src.rcyl", dtype="f16")
        out = os.path.join(self.tmp, "out.rcyl")
        r = subprocess.run([sys.executable, os.path.join(TOOLS, "make_random_model.py"), out,
                            "--shape", "smollm2-135m", "--tokenizer-from", os.path.join(self.tmp, "nope.rcyl")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("--tokenizer-from", r.stderr)
        tok = mrm.load_tokenizer_metadata(src)
        self.assertEqual(tok["tokenizer"], TOKENIZER["tokenizer"])
        self.assertEqual(tok["default_system_prompt"], "Be brief.")

    def test_tokenizer_larger_than_vocab_fails_cleanly(self):
        with self.assertRaises(mrm.RandomModelError) as cm:
            mrm.make_random_model(os.path.join(self.tmp, "m.rcyl"), dict(TINY, vocab_size=16),
                                  tokenizer=TOKENIZER)
        self.assertIn("more than vocab_size 16", str(cm.exception))
        self.assertEqual(os.listdir(self.tmp), [])

    def test_preset_shapes(self):
        # Parameter counts of the real SmolLM2 models (tied embeddings).
        expected = {"smollm2-135m": 134_515_008, "smollm2-360m": 361_821_120,
                    "smollm2-1.7b": 1_711_376_384}
        for name, count in expected.items():
            shapes = rcyl.tensor_shapes(mrm.llama_config(mrm.SHAPES[name]))
            self.assertEqual(sum(math.prod(s) for s in shapes.values()), count, name)


if __name__ == "__main__":
    unittest.main()
