"""Whole synthetic T1 scans from the training SynthSeg label maps, for `npm run calibrate`.

The whole-brain structures have no real training scan: they are learnt from SynthSeg label maps drawn as
synthetic MR. Their presence calibration needs positive cases the engine can read as scans, so this writes,
for each training label map (splits.json; the held-out maps are never drawn), one T1-like image with the
training config's contrast prior: even-numbered maps skull-stripped (zero outside the brain, like
FreeSurfer's norm.mgz), odd-numbered ones with the head around the brain. Seeded: the same files every run.

    /usr/bin/python3 -m medparse_train.synth_cases [--config configs/brain_structures_mr.json] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os

import nibabel as nib
import numpy as np
import torch

from .data import synthesize

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(HERE, "runs", "synthetic")


def synthetic_case(label_path: str, synth_cfg: dict, seed: int, skull_stripped: bool) -> nib.Nifti1Image:
    labels = nib.load(label_path)
    lab = np.asarray(labels.dataobj).astype(np.int16)
    cfg = dict(synth_cfg)
    cfg["p_zero_background"] = 1.0 if skull_stripped else 0.0
    cfg["contrast_prior"] = {**synth_cfg["contrast_prior"], "p": 1.0}
    rng = np.random.default_rng(seed)
    # synthesize works in (z, y, x) array order; the label map's voxel axes are (i, j, k)
    image = synthesize(torch.from_numpy(lab.transpose(2, 1, 0).copy()), cfg, "mr", rng, None, normalise=False)
    # white matter near 110, as FreeSurfer scales it; stored as 8-bit like many T1 exports
    data = np.clip(image.numpy().transpose(2, 1, 0) * 110, 0, 255).astype(np.uint8)
    out = nib.Nifti1Image(data, labels.affine)
    out.header.set_xyzt_units("mm")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=os.path.join(HERE, "configs", "brain_structures_mr.json"))
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "shared", "data"))
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    cfg = json.load(open(args.config))
    synth = next((d for d in cfg["datasets"] if d["name"] == "synthseg"), None)
    if synth is None or "contrast_prior" not in synth.get("synth", {}):
        raise SystemExit(f"{args.config}: no synthseg data set with a synth.contrast_prior to draw T1 scans from")
    splits = json.load(open(os.path.join(HERE, "splits.json")))["datasets"]["synthseg"]
    os.makedirs(os.path.join(args.out, "synthseg"), exist_ok=True)
    for n, patient in enumerate(splits["train_patients"]):
        label_path = os.path.join(args.shared, "synthseg", f"{patient}.nii.gz")
        if not os.path.exists(label_path):
            raise SystemExit(f"{label_path}: missing; synthetic scans are drawn from ../shared/data/synthseg")
        number = int(patient.rsplit("_", 1)[1])
        image = synthetic_case(label_path, synth["synth"], seed=1000 + number, skull_stripped=number % 2 == 0)
        path = os.path.join(args.out, "synthseg", f"{patient}_t1.nii.gz")
        nib.save(image, path)
        print(json.dumps({"case": patient, "image": path, "skull_stripped": number % 2 == 0}))


if __name__ == "__main__":
    main()
