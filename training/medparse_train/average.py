"""Average weight sets of one network (a "model soup"): element-wise mean of every floating-point tensor.

    /usr/bin/python3 -m medparse_train.average A_weights.npz B_weights.npz [...] --out soup_weights.npz

Only meaningful for weights from one training basin (a fine-tune and the weights it started from); model
0.4.0's heart-mr is the mean of its 0.3.0 GPU weights and their CPU fine-tune (see MODEL_CARD.md).
"""
from __future__ import annotations

import argparse
import os

import numpy as np


def average(paths):
    sets = [np.load(p) for p in paths]
    names = sets[0].files
    for p, s in zip(paths[1:], sets[1:]):
        if sorted(s.files) != sorted(names):
            raise SystemExit(f"{p} holds other tensors than {paths[0]}: not the same network")
    out = {}
    for k in names:
        arrays = [s[k] for s in sets]
        if any(a.shape != arrays[0].shape for a in arrays):
            raise SystemExit(f"tensor {k} differs in shape between the weight sets: not the same network")
        if np.issubdtype(arrays[0].dtype, np.floating):
            out[k] = np.mean([a.astype(np.float64) for a in arrays], axis=0).astype(arrays[0].dtype)
        else:
            out[k] = arrays[0]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights", nargs="+", help="two or more *_weights.npz of one network")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if len(a.weights) < 2:
        raise SystemExit("give at least two weight sets to average")
    out = a.out if a.out.endswith(".npz") else a.out + ".npz"  # np.savez adds the suffix
    if any(os.path.abspath(out) == os.path.abspath(w) for w in a.weights):
        raise SystemExit(f"--out {a.out} is one of the weight sets being averaged: write the mean elsewhere")
    np.savez(out, **average(a.weights))


if __name__ == "__main__":
    main()
