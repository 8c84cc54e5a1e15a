"""ONNX export of trained networks and assembly of the model package.

    /usr/bin/python3 -m medparse_train.export --config training/configs/heart_mr.json \
        --checkpoint training/runs/heart-mr/best.pt --out models/medparse-default

Writes <out>/<file>.onnx (opset 17, fp32, dynamic batch/Z/Y/X and Q), adds/replaces the network in
<out>/model.json, and writes an output-parity fixture under training/fixtures/onnx/: <net>.json (shapes,
concept ids, max |value|) with raw little-endian float32 files <net>_image.bin, <net>_logits.bin,
<net>_presence.bin (the concept ids are in the JSON). `node training/check_onnx_parity.mjs` runs the
.onnx in onnxruntime-node on that input and prints the max abs difference to the torch outputs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os

import numpy as np
import torch

from .model import build_model, count_params

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
# the contract's input block (docs/model-contract.md); slice_axis, flip_search(_margin) and max_slice_mm only where
# a config has them
INPUT_KEYS = ("orientation", "spacing", "patch_size", "channels", "normalization", "slice_axis", "flip_search",
              "flip_search_margin", "max_slice_mm")


def load_weights(path):
    """State dict from a training checkpoint (.pt) or a weights file (.npz, train.py's *_weights.npz)."""
    if path.endswith(".npz"):
        with np.load(path) as z:
            return {k: torch.from_numpy(z[k]) for k in z.files}
    return torch.load(path, map_location="cpu")["model"]


def checkpoint_step(path):
    """Training step of the weights: from the checkpoint, or for a weights file from the run's log beside it."""
    if not path.endswith(".npz"):
        return torch.load(path, map_location="cpu")["step"]
    log = os.path.join(os.path.dirname(path), "log.jsonl")
    done = [json.loads(line) for line in open(log) if '"done"' in line] if os.path.exists(log) else []
    return done[-1]["step"] if done else None


def sha256_of(path):
    """The sum model.json carries for a network file: medparse refuses a file that does not match it."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export(cfg, ckpt_path, out_dir, fixture_dir, trained_note=None):
    torch.set_num_threads(2)
    model = build_model(cfg, len(cfg["concepts"]))
    model.load_state_dict(load_weights(ckpt_path))
    model.eval()
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, cfg["file"])
    # test input: a real-looking smooth random field, in the network layout, spatial dims multiples of 16
    P = list(reversed(cfg["input"]["patch_size"]))  # z, y, x
    shape = [1, 1] + [min(p, 32) if p > 16 else p for p in P]
    g = torch.Generator().manual_seed(0)
    image = torch.randn(shape, generator=g)
    image = torch.nn.functional.avg_pool3d(image, 3, 1, 1) * 3
    ids = torch.tensor(sorted({0, len(cfg["concepts"]) // 2, len(cfg["concepts"]) - 1}), dtype=torch.long)
    with torch.no_grad():
        logits, presence = model(image, ids)
        torch.onnx.export(
            model, (image, ids), onnx_path, opset_version=17, input_names=["image", "concept_ids"],
            output_names=["logits", "presence"], do_constant_folding=True,
            dynamic_axes={"image": {0: "B", 2: "Z", 3: "Y", 4: "X"}, "concept_ids": {0: "Q"},
                          "logits": {0: "B", 1: "Q", 2: "Z", 3: "Y", 4: "X"}, "presence": {0: "B", 1: "Q"}},
        )
    os.makedirs(fixture_dir, exist_ok=True)
    base = os.path.join(fixture_dir, cfg["network_id"])
    image.numpy().astype("<f4").tofile(base + "_image.bin")
    logits.numpy().astype("<f4").tofile(base + "_logits.bin")
    presence.numpy().astype("<f4").tofile(base + "_presence.bin")
    with open(base + ".json", "w") as f:
        json.dump({"onnx": os.path.relpath(onnx_path, REPO), "image_shape": list(image.shape),
                   "concept_ids": ids.tolist(), "logits_shape": list(logits.shape),
                   "presence_shape": list(presence.shape), "logits_max_abs": float(logits.abs().max()),
                   "format": "raw little-endian float32, C order"}, f, indent=1)
    # model.json
    mj_path = os.path.join(out_dir, "model.json")
    mj = json.load(open(mj_path)) if os.path.exists(mj_path) else {
        "schema_version": 1, "name": "medparse-default", "version": "0.1.0", "license": "", "training_data": "",
        "networks": []}
    net = {
        "id": cfg["network_id"], "file": cfg["file"], "sha256": sha256_of(onnx_path), "modalities": cfg["modalities"],
        "input": {k: cfg["input"][k] for k in INPUT_KEYS if k in cfg["input"]},
        "output": {"feature_channels": cfg["model"]["feature_channels"]},
        "concepts": [{"id": c, "index": i} for i, c in enumerate(cfg["concepts"])],
        "training": {"checkpoint_step": checkpoint_step(ckpt_path), "params": count_params(model), "note": trained_note or ""},
    }
    # replaced in place: the order of networks in model.json is the order the engine lists them in
    ids = [n["id"] for n in mj["networks"]]
    if net["id"] in ids:
        mj["networks"][ids.index(net["id"])] = net
    else:
        mj["networks"].append(net)
    with open(mj_path, "w") as f:
        json.dump(mj, f, indent=1)
    return onnx_path, os.path.getsize(onnx_path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", default=os.path.join(REPO, "models", "medparse-default"))
    ap.add_argument("--fixtures", default=os.path.join(REPO, "training", "fixtures", "onnx"))
    ap.add_argument("--note", default="")
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    path, size = export(cfg, a.checkpoint, a.out, a.fixtures, a.note)
    print(json.dumps({"onnx": path, "bytes": size}))


if __name__ == "__main__":
    main()
