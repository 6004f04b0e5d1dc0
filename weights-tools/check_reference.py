"""Check reference.py against the Hugging Face fixtures (Tests/RecycleTests/Fixtures/*.json;
for Gemma 3, pass its model and --fixtures Tests/RecycleTests/Fixtures/gemma3).

The fixtures were made by fp32 transformers on the same dequantized GGUF weights, with
Hugging Face's own RoPE layout; agreement here confirms our file, our block decoding and
the "adjacent" RoPE pairing on GGUF's row order.

For each fixture:
  * prompt: max |logit diff| over HF's final-position top 20, and whether the top-20
    order is the same;
  * teacher-forced steps: one forward pass over prompt + HF's 64 greedy ids gives every
    step's distribution; max |diff| over HF's per-step top 5, and argmax agreement;
  * free-running greedy (reference.greedy, 64 tokens): first divergence from HF, and HF's
    top1-top2 margin there (a divergence is only acceptable at a near-tie).

usage: check_reference.py [MODEL] [--fixtures DIR] [--tol 1e-3] [--no-greedy]
Exit status 1 when a check fails.
"""

import argparse
import glob
import json
import os
import sys
import time

import numpy as np

import reference

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(TOOLS_DIR)
DEFAULT_MODEL = os.path.join(REPO_DIR, "models", "SmolLM2-135M-Instruct-Q4_1.rcyl")
DEFAULT_FIXTURES = os.path.join(REPO_DIR, "Tests", "RecycleTests", "Fixtures")


def normalized(fx: dict) -> dict:
    """The fixture in the SmolLM2 fixtures' field names; the Gemma 3 fixtures
    (../shared/fixtures/gemma3) name the same data differently."""
    if "greedy_64_ids_no_eos_stop" in fx:
        return fx
    return dict(fx, **{
        "greedy_64_ids_no_eos_stop": fx["greedy_ids"],
        "greedy_step_top1_minus_top2": [st["greedy_step_top1_minus_top2"] for st in fx["steps"]],
        "greedy_step_top5": [{"ids": st["top5_ids"], "logits": st["top5_logits"]} for st in fx["steps"]],
        "prompt_final_logits_top20": {"ids": fx["prompt_last_logits_top20"]["ids"],
                                      "values": fx["prompt_last_logits_top20"]["logits"]},
    })


def check_fixture(model, fx: dict, tol: float, run_greedy: bool) -> bool:
    prompt, hf_ids = fx["prompt_ids"], fx["greedy_64_ids_no_eos_stop"]
    margins = fx["greedy_step_top1_minus_top2"]
    n_steps = len(hf_ids)
    ok = True

    logits = reference.forward(model, prompt + hf_ids[:-1])
    steps = logits[len(prompt) - 1:]  # row s predicts generated token s

    top20 = fx["prompt_final_logits_top20"]
    prompt_diff = float(np.max(np.abs(steps[0][top20["ids"]] - np.array(top20["values"]))))
    same_order = reference.top_k(steps[0], len(top20["ids"]))[0] == top20["ids"]
    print(f"  prompt final logits, HF top-20: max |diff| = {prompt_diff:.3g}, "
          f"top-20 order {'identical' if same_order else 'DIFFERENT'}")
    ok &= prompt_diff <= tol and same_order

    step_diff = max(float(np.max(np.abs(steps[s][st["ids"]] - np.array(st["logits"]))))
                    for s, st in enumerate(fx["greedy_step_top5"]))
    tf_agree = int(np.sum(np.argmax(steps, axis=1) == np.array(hf_ids)))
    print(f"  teacher-forced {n_steps} steps, HF top-5: max |diff| = {step_diff:.3g}, "
          f"argmax agrees at {tf_agree}/{n_steps} steps")
    ok &= step_diff <= tol

    if run_greedy:
        start = time.monotonic()
        ours = reference.greedy(model, prompt, n_steps)
        diverge = next((s for s, (a, b) in enumerate(zip(ours, hf_ids)) if a != b), None)
        took = time.monotonic() - start
        if diverge is None:
            print(f"  greedy {n_steps} tokens: identical to HF ({took:.0f} s); "
                  f"smallest HF margin {min(margins):.3g} at step {int(np.argmin(margins))}")
        else:
            margin = margins[diverge]
            near_tie = margin <= 2 * tol
            print(f"  greedy {n_steps} tokens: first divergence at step {diverge} (ours {ours[diverge]}, "
                  f"HF {hf_ids[diverge]}), HF margin there {margin:.3g} "
                  f"({'near-tie, acceptable' if near_tie else 'NOT a near-tie: FAIL'})")
            ok &= near_tie
    return ok


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Check reference.py against the Hugging Face fixtures.")
    p.add_argument("model", nargs="?", default=DEFAULT_MODEL, help=f".rcyl file (default {DEFAULT_MODEL})")
    p.add_argument("--fixtures", default=DEFAULT_FIXTURES, help="folder of fixture JSON files")
    p.add_argument("--tol", type=float, default=1e-3, help="max allowed |logit diff| (default 1e-3)")
    p.add_argument("--no-greedy", action="store_true", help="skip the free-running greedy runs (slow)")
    args = p.parse_args(argv)

    # The folder also holds other test data (the tree template): a logits fixture is a JSON
    # object with prompt ids and greedy ids.
    fixtures = []
    for path in sorted(glob.glob(os.path.join(args.fixtures, "*.json"))):
        with open(path, encoding="utf-8") as f:
            fx = json.load(f)
        if isinstance(fx, dict) and "prompt_ids" in fx and ("greedy_64_ids_no_eos_stop" in fx or "steps" in fx):
            fixtures.append((path, normalized(fx)))
    if not fixtures:
        print(f"check_reference: error: no logits fixtures (*.json with prompt_ids) in {args.fixtures}", file=sys.stderr)
        return 1
    if not os.path.isfile(args.model):
        print(f"check_reference: error: {args.model} not found (run weights-tools/fetch-default)",
              file=sys.stderr)
        return 1
    model = reference.load_model(args.model)
    model.inputs = "float"  # HF computes with float inputs; this checks the file and decoding
    all_ok = True
    for path, fx in fixtures:
        print(f"{fx.get('name', os.path.basename(path))}: {len(fx['prompt_ids'])} prompt tokens")
        ok = check_fixture(model, fx, args.tol, not args.no_greedy)
        print(f"  -> {'PASS' if ok else 'FAIL'}")
        all_ok &= ok
    print("all fixtures pass" if all_ok else "SOME CHECKS FAILED")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
