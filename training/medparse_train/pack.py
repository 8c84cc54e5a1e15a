"""Pack one network's preprocessed cases into a single compressed file, for training on a machine that
cannot read ../shared (a rented GPU gets only what travels with the repository, a few tens of MB).

    /usr/bin/python3 -m medparse_train.pack --config configs/heart_mr.json --out packs/heart_mr.npz

Each case is the contract's preprocessing (the same `load_case` the trainer uses), with label values
renumbered to 8 bits and the image quantised to --bits (8 by default) over its own range (at 8 bits the
error is at most half a step: about 0.015 of a standard deviation for MR, 4 HU for CT, well under the noise
that augmentation adds). Only the held-out cases that validation would read (`val_max_cases`) are packed,
always whole, so that validation sees what the engine sees.

A training case is whole too unless a margin is given: a data set's `pack_margin_mm` in the config, else
--margin-mm. Then it is cropped to its labelled region plus that margin. A crop saves transfer size and
costs the far field: networks trained on cardiac stacks cropped to the heart + 60 mm (model 0.3.0) had
never seen the stomach or the arms, and answered "right ventricle" there (held-out RV Dice 0.72 on the
crops, 0.63 on the whole stacks). Keep margins large (>= 100 mm) or the images whole where the transfer
budget allows (64 MiB with the repository: print sizes with this command). `pack_max_cases` packs only
the first N training cases of a data set (negatives from another region need not be many).
"""
from __future__ import annotations

import argparse
import json
import os
import zipfile

import numpy as np

from .datasets import list_cases
from .data import load_case

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def crop_box(labels: np.ndarray, margin) -> tuple:
    nz = np.argwhere(labels > 0)
    if margin is None or nz.size == 0:
        return tuple(slice(0, n) for n in labels.shape)
    lo = np.maximum(nz.min(0) - margin, 0)
    hi = np.minimum(nz.max(0) + 1 + margin, labels.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def quantise(image: np.ndarray, bits: int = 8):
    levels = 2**bits - 1
    lo, hi = float(image.min()), float(image.max())
    step = (hi - lo) / levels if hi > lo else 1.0
    q = np.clip(np.rint((image - lo) / step), 0, levels).astype(np.uint8)
    return q, lo, step


def dequantise(q: np.ndarray, lo: float, step: float) -> np.ndarray:
    return (q.astype(np.float32) * np.float32(step) + np.float32(lo)).astype(np.float32)


def selected_cases(cfg, train_only=False):
    """(dataset config, case) pairs: all training cases, and the held-out ones validation reads (none with
    train_only: a run that never validates, measured afterwards through the engine, needs none)."""
    out = []
    val_left = 0 if train_only else cfg["train"].get("val_max_cases", 6)
    for ds in cfg["datasets"]:
        cases = list_cases(ds["name"])
        train = [c for c in cases if not c["held_out"]]
        out += [(ds, c) for c in train[: ds.get("pack_max_cases", len(train))]]
        if ds.get("validate", True):
            for c in cases:
                if c["held_out"] and c["image"] is not None and val_left > 0:
                    out.append((ds, c))
                    val_left -= 1
    return out


def pack(cfg, out_path, cache_dir, margin_mm, bits, train_only=False):
    """margin_mm: crop training cases to their labels plus this margin (None: whole), unless the data
    set's `pack_margin_mm` says otherwise (null there: whole)."""
    spacing = np.array(list(reversed(cfg["input"]["spacing"])), float)  # z, y, x
    arrays, index = {}, []
    for i, (ds, c) in enumerate(selected_cases(cfg, train_only)):
        image, labels = load_case(c, cfg["input"], cache_dir)
        mm = None if c["held_out"] else ds.get("pack_margin_mm", margin_mm)
        box = crop_box(labels, None if mm is None else np.ceil(mm / spacing).astype(int))
        labels = labels[box]
        values, compact = np.unique(labels, return_inverse=True)
        if values.size > 256:
            raise ValueError(f"{c['case_id']}: {values.size} label values do not fit the pack's uint8")
        arrays[f"l{i}"] = compact.reshape(labels.shape).astype(np.uint8)
        entry = {k: c[k] for k in ("dataset", "patient", "case_id", "modality", "held_out", "synthetic")}
        entry["label_values"] = values.tolist()
        entry["has_image"] = image is not None
        if image is not None:
            q, lo, step = quantise(image[box], bits)
            arrays[f"i{i}"] = q
            entry["lo"], entry["step"] = lo, step
        index.append(entry)
    arrays["index"] = np.frombuffer(json.dumps(index).encode(), dtype=np.uint8)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    # an .npz (np.load reads it) whose members are LZMA-compressed: a fifth smaller than savez_compressed
    with zipfile.ZipFile(out_path + ".tmp", "w", compression=zipfile.ZIP_LZMA) as zf:
        for name, array in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(array), allow_pickle=False)
    os.replace(out_path + ".tmp", out_path)
    return index


def read_pack(path):
    """[(case dict, image or None, labels)], image and labels as `load_case` gives them (image float32)."""
    z = np.load(path)
    index = json.loads(bytes(z["index"]).decode())
    out = []
    for i, e in enumerate(index):
        case = {k: e[k] for k in ("dataset", "patient", "case_id", "modality", "held_out", "synthetic")}
        case["image"] = case["case_id"] if e["has_image"] else None
        case["labels"] = case["case_id"]
        image = dequantise(z[f"i{i}"], e["lo"], e["step"]) if e["has_image"] else None
        values = np.asarray(e["label_values"], dtype=np.int32)
        labels = values[z[f"l{i}"]]
        out.append((case, image, labels.astype(np.int16 if values.max() < 32767 else np.int32)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--margin-mm", type=float, default=None,
                    help="crop training cases to their labels plus this margin (default: whole images)")
    ap.add_argument("--bits", type=int, default=8, choices=range(4, 9), help="image quantisation")
    ap.add_argument("--train-only", action="store_true",
                    help="leave out the held-out cases (for a run with --val-every 0: a fifth to a tenth smaller)")
    args = ap.parse_args(argv)
    with open(args.config) as f:
        cfg = json.load(f)
    index = pack(cfg, args.out, os.path.join(REPO, "training", "runs", "cache"), args.margin_mm,
                 args.bits, args.train_only)
    size = os.path.getsize(args.out) / 2**20
    print(f"{args.out}: {len(index)} cases ({sum(e['held_out'] for e in index)} held out), {size:.1f} MiB")


if __name__ == "__main__":
    main()
