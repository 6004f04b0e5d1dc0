"""Validate an .rcyl file and print what is in it.

usage: inspect FILE [--verify] [--quiet]

Opening the file applies every structural rule of docs/FORMAT.md (rcyl.RcylFile); a
malformed file gives `inspect: error: FILE: <what is wrong>` and exit status 1.
--verify also recomputes the CRC-32 (reads every byte) and exits 1 on a mismatch.
--quiet prints nothing on success (fetch-default uses it to vet an existing file).
"""

import argparse
import json
import math
import sys
from collections import Counter

import rcyl


def print_header(f: rcyl.RcylFile) -> None:
    h = f.header
    print(f"file: {f.path}")
    print(f"header: magic RCYLWTS, format_version {h.format_version}, header_size {h.header_size}")
    for section, off, length in (("metadata", h.metadata_offset, h.metadata_length),
                                 ("directory", h.directory_offset, h.directory_length),
                                 ("data", h.data_offset, h.data_length)):
        print(f"  {section:<10} offset {off:>12,}  length {length:>12,}")
    print(f"  file_length {h.file_length:,}  checksum_kind {h.checksum_kind} (CRC-32)  "
          f"checksum {h.checksum:08x}")


def print_metadata(f: rcyl.RcylFile) -> None:
    m = f.metadata
    print(f"architecture: {m['architecture']}")
    print("config:")
    for key, value in m["config"].items():
        print(f"  {key:<16} {json.dumps(value)}")
    tok = m["tokenizer"]
    tokens = tok["tokens"]

    def named(key):
        i = tok.get(key)
        return "none" if i is None else f"{i} {tokens[i]!r}"

    if tok["model"] == "sentencepiece":
        rules = f"scores, add_space_prefix {str(tok['add_space_prefix']).lower()}"
    else:
        rules = f"pre_tokenizer {tok['pre_tokenizer']!r}, {len(tok['merges']):,} merges"
    print(f"tokenizer: {tok['model']}, {len(tokens):,} tokens, {rules}, add_bos {str(tok['add_bos']).lower()}")
    print(f"  bos {named('bos_id')}, eos {named('eos_id')}, unk {named('unk_id')}, pad {named('pad_id')}")
    special = [t for t, kind in zip(tokens, tok["token_types"]) if kind in (3, 4)]
    shown = " ".join(special[:12]) + (" ..." if len(special) > 12 else "")
    print(f"  special tokens (types 3/4): {len(special)}: {shown}")
    print(f"chat_template: {m.get('chat_template')}")
    print(f"default_system_prompt: {m.get('default_system_prompt')!r}")
    src = m.get("source")
    if isinstance(src, dict):
        print("source: " + ", ".join(f"{k} {v}" for k, v in src.items()))


def print_tensors(f: rcyl.RcylFile) -> None:
    width = max(len(t.name) for t in f.tensors)
    print(f"tensors: {len(f.tensors)}")
    print(f"  {'name':<{width}}  {'dtype':<5}  {'shape':<14}  {'offset':>12}  {'bytes':>11}")
    for t in f.tensors:
        shape = "[" + ", ".join(map(str, t.shape)) + "]"
        print(f"  {t.name:<{width}}  {t.dtype:<5}  {shape:<14}  {t.offset:>12,}  {t.length:>11,}")
    params, nbytes, counts = Counter(), Counter(), Counter()
    for t in f.tensors:
        params[t.dtype] += math.prod(t.shape)
        nbytes[t.dtype] += t.length
        counts[t.dtype] += 1
    print(f"totals: {sum(params.values()):,} parameters, {sum(nbytes.values()):,} tensor bytes")
    for dtype in sorted(counts):
        print(f"  {dtype:<5} {counts[dtype]:>4} tensors  {params[dtype]:>13,} params  {nbytes[dtype]:>12,} bytes")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="inspect", description="Validate and describe an .rcyl file.")
    p.add_argument("file")
    p.add_argument("--verify", action="store_true", help="recompute the CRC-32 of the whole file")
    p.add_argument("--quiet", action="store_true", help="print nothing unless there is an error")
    args = p.parse_args(argv)
    try:
        f = rcyl.RcylFile(args.file)
    except (rcyl.RcylError, OSError) as e:
        print(f"inspect: error: {args.file}: {e}", file=sys.stderr)
        return 1
    with f:
        if not args.quiet:
            print_header(f)
            print_metadata(f)
            print_tensors(f)
        if not args.verify:
            if not args.quiet:
                print("checksum: not computed (pass --verify)")
            return 0
        computed = f.compute_checksum()
        if computed != f.header.checksum:
            print(f"inspect: error: {args.file}: checksum MISMATCH: header says {f.header.checksum:08x}, "
                  f"contents give {computed:08x} (file is corrupt)", file=sys.stderr)
            return 1
        if not args.quiet:
            print(f"checksum: OK ({computed:08x})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
