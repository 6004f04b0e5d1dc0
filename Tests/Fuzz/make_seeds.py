#!/usr/bin/env python3
"""Writes the fuzz seed corpora in Tests/Fuzz/Seeds (run once; the output is committed).

The weights seeds are the same tiny model as Tests/RecycleTests/SyntheticModel.swift (2
layers, d_model 32, a 64-token vocabulary) with deterministic bytes, laid out as
docs/FORMAT.md says; the structured seed is its metadata, directory and data joined by
the separator that Targets/LoaderStructured.swift splits on.
"""
import json, os, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SEP = b"\n--8<--\n"


def synthetic():
    config = {"n_layers": 2, "d_model": 32, "n_heads": 2, "n_kv_heads": 1, "head_dim": 16, "ffn_dim": 64,
              "vocab_size": 64, "context_length": 64, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
              "tied_embeddings": True, "rope_pairing": "adjacent"}
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    letters = [chr(0x41 + i) for i in range(61)]
    metadata = {"architecture": "llama", "config": config,
                "tokenizer": {"model": "gpt2-bpe", "pre_tokenizer": "smollm", "tokens": specials + letters,
                              "token_types": [3] * 3 + [1] * 61, "merges": ["A B", "C D"], "bos_id": 1,
                              "eos_id": 2, "unk_id": 0, "pad_id": 2, "add_bos": False},
                "chat_template": "chatml", "default_system_prompt": "You are a test."}
    directory, data = [], bytearray()
    counter = [0]

    def byte():
        counter[0] = (counter[0] * 1103515245 + 12345) & 0x7FFFFFFF
        return counter[0] >> 16 & 0xFF

    def add(name, dtype, shape):
        while len(data) % 64:
            data.append(0)
        start, n = len(data), 1
        for s in shape:
            n *= s
        if dtype == "f32":
            data.extend(struct.pack("<%df" % n, *[1.0] * n))
        elif dtype == "q8_0":
            for _ in range(n // 32):
                data.extend(struct.pack("<e", 0.01) + bytes(byte() for _ in range(32)))
        else:
            for _ in range(n // 32):
                data.extend(struct.pack("<ee", 0.02, -0.15) + bytes(byte() for _ in range(16)))
        directory.append({"name": name, "dtype": dtype, "shape": shape, "offset": start, "length": len(data) - start})

    add("token_embd.weight", "q8_0", [64, 32])
    add("output_norm.weight", "f32", [32])
    for l in range(2):
        add(f"blk.{l}.attn_norm.weight", "f32", [32])
        add(f"blk.{l}.attn_q.weight", "q4_1", [32, 32])
        add(f"blk.{l}.attn_k.weight", "q4_1", [16, 32])
        add(f"blk.{l}.attn_v.weight", "q4_1", [16, 32])
        add(f"blk.{l}.attn_output.weight", "q4_1", [32, 32])
        add(f"blk.{l}.ffn_norm.weight", "f32", [32])
        add(f"blk.{l}.ffn_gate.weight", "q4_1", [64, 32])
        add(f"blk.{l}.ffn_up.weight", "q4_1", [64, 32])
        add(f"blk.{l}.ffn_down.weight", "q4_1", [32, 64])
    return (json.dumps(metadata, separators=(",", ":")).encode(),
            json.dumps(directory, separators=(",", ":")).encode(), bytes(data))


def encode(meta, dirj, data):
    body = bytearray(meta + dirj)
    while (128 + len(body)) % 64:
        body.append(0)
    data_offset = 128 + len(body)
    body += data
    header = b"RCYLWTS\0" + struct.pack("<II", 1, 128)
    header += struct.pack("<QQQQQQQ", 128, len(meta), 128 + len(meta), len(dirj), data_offset, len(data),
                          data_offset + len(data))
    header += struct.pack("<II", 1, zlib.crc32(bytes(body)) & 0xFFFFFFFF) + bytes(48)
    return header + bytes(body)


def write(target, name, content):
    os.makedirs(os.path.join(HERE, "Seeds", target), exist_ok=True)
    with open(os.path.join(HERE, "Seeds", target, name), "wb") as f:
        f.write(content)


meta, dirj, data = synthetic()
write("LoaderFile", "synthetic.rcyl", encode(meta, dirj, data))
write("LoaderFile", "header-only", encode(meta, dirj, data)[:128])
write("LoaderStructured", "synthetic", meta + SEP + dirj + SEP + data)
write("LoaderStructured", "one-tensor", meta + SEP + dirj[: dirj.index(b"},") + 1] + b"]" + SEP + data[:64])
for i, text in enumerate(["Hello, world!", "<|im_start|>user\nhi<|im_end|>\n", "  tabs\tand\nnewlines  ",
                          "caf\u00e9 \u65e5\u672c\u8a9e \U0001F600", "1234567890 3.14 -42", "don't I'll we've",
                          "\xff\xfe invalid?", "<|endoftext|><|im_end"]):
    write("Tokenizer", f"text{i}", text.encode("utf-8", "surrogatepass"))
write("Tokenizer", "invalid-utf8", b"ab\xff\xfe\xc3(cd\xe2\x82")
for name, text in {"text0": "def fibonacci(n):\n    return n\n", "text1": "<start_of_turn>user\nhi<end_of_turn>\n<table>  \n\n\t\t",
                   "text2": "caf\u00e9 \u65e5\u672c\u8a9e \U0001F980 \U000F0000 \u2581 <0x41> <pad>"}.items():
    write("SentencePieceTokenizer", name, text.encode())
write("SentencePieceTokenizer", "invalid-utf8", b"ab\xff\xfe\xc3(cd\xe2\x82 \xe2\x96")
for name, text in {"flat": "[[0], [1], [0, 0], [0, 1], [1, 0]]", "nodes": '{"nodes": [[0], [0, 0], [0, 0, 0]]}',
                   "float": "[[1.0]]", "bool": "[[true]]", "bad-order": "[[0, 0], [0]]", "empty": "[]"}.items():
    write("TreeFile", name, text.encode())
# Matrix seeds: a valid file for k = 2 over a vocabulary of 8 (the target derives both from the header).
rows = struct.pack("<16i", *[(i * 3) % 8 for i in range(16)])
write("MatrixFile", "valid", b"RCYLADJ\0" + struct.pack("<IIII", 1, 2, 8, zlib.crc32(rows)) + rows)
