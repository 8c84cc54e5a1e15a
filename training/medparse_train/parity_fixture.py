"""Writes training/fixtures/preprocess-parity.json: what the Python contract preprocessing gives for a
few real volumes of ../shared/data, for the TypeScript parity test to compare step by step.

    cd training && /usr/bin/python3 -m medparse_train.parity_fixture

Per case: `volume` (path relative to the data root), `modality`, `input` (the network input block as in
model.json: spacing x,y,z, normalization), then per step:
- `reoriented`: shape [X,Y,Z] after RAS reorientation, `spacing` (pixdim permuted), `code` of the source;
- `resampled`: shape [X,Y,Z] on the working grid, mean/min/max of the resampled (unnormalised) values;
- `normalization`: low/high clip values (percentiles or fixed), mean, std used;
- `image_to_hu` (only for a data set stored as a window of HU, datasets.py): [scale, offset] applied to the
  read values before step 1, as eval and calibrate do (scripts/training-configs.ts asHounsfield);
- `output`: shape [Z,Y,X] (the ONNX layout), mean, std, min, max, sum, and `samples`: {flat index: value}
  for 200 flat indices (network layout, x fastest) spread evenly through the array plus the first 64.
Values are float32 rounded to 6 significant digits; compare with atol ~1e-4 (+1e-5 * |value|).
"""
from __future__ import annotations

import json
import os

import numpy as np

from . import preprocess as pp
from .datasets import BTCV_TO_HU, data_root

CASES = [
    ("acdc/patient001/patient001_frame01.nii.gz", "MR", "heart_mr"),
    ("hippocampus/images/hippocampus_004.nii.gz", "MR", "brain_mr"),
    ("brats2015/validation/brats_2013_pat0003_1/Flair_subtrMeanDivStd.nii.gz", "MR", "brain_mr"),
    ("openkbp/pt_10_ct.nii.gz", "CT", "body_ct"),
    ("freesurfer/norm.mgz", "MR", "brain_mr"),
    # the soft-tissue window on a real HU scan and on an 8-bit windowed one (image_to_hu first, both sides)
    ("totalsegmentator/ct/example_ct.nii.gz", "CT", "body_ct"),
    ("btcv_ct_half/btcv_05_img.nii.gz", "CT", "body_ct"),
    ("chaos_mr/chaos_05_img.nii.gz", "MR", "abdomen_mr"),
]

HERE = os.path.dirname(__file__)


def r(v):
    return float(f"{float(v):.6g}")


def main():
    root = data_root()
    out = {"data_root": "../shared/data", "generated_by": "training/medparse_train/parity_fixture.py", "cases": []}
    for rel, modality, cfg_name in CASES:
        path = os.path.join(root, rel)
        if not os.path.exists(path):
            print("missing", path)
            continue
        cfg = json.load(open(os.path.join(HERE, "..", "configs", f"{cfg_name}.json")))
        net_input = {k: cfg["input"][k] for k in ("orientation", "spacing", "patch_size", "normalization")}
        if modality not in net_input["normalization"]:
            continue
        data, aff, zooms = pp.load_nifti(path)
        to_hu = BTCV_TO_HU if rel.startswith("btcv_ct_half/") else None
        if to_hu:
            data = pp.window_to_hu(data, to_hu)
        ras, raff, spacing = pp.reorient_to_ras(np.asarray(data, np.float32), aff, zooms)
        res = pp.resample_linear(ras, spacing, net_input["spacing"])
        spec = net_input["normalization"][modality]
        if spec["type"] == "ct_clip":
            lo, hi = spec.get("lower", -1000), spec.get("upper", 1000)
            mean, std = spec.get("mean", 0), spec.get("std", 300)
        else:
            sel = res != 0 if spec.get("nonzero_only") else np.ones(res.shape, bool)
            lo, hi = pp.np_percentiles(res[sel], [spec["lower_percentile"], spec["upper_percentile"]])
            v = np.clip(res, lo, hi)[sel].astype(np.float64)
            mean, std = v.mean(), v.std()
        norm = pp.normalize(res, spec)
        net = pp.to_network_layout(norm)
        flat = net.reshape(-1)
        idx = sorted(set(list(range(64)) + np.linspace(0, flat.size - 1, 200).astype(int).tolist()))
        out["cases"].append({
            "volume": rel, "modality": modality, "network": cfg["network_id"], "input": net_input,
            **({"image_to_hu": to_hu} if to_hu else {}),
            "source": {"shape": list(np.asarray(data).shape[:3]), "zooms": [r(z) for z in zooms], "code": pp.orientation_code(aff)},
            "reoriented": {"shape": list(ras.shape), "spacing": [r(s) for s in spacing]},
            "resampled": {"shape": list(res.shape), "mean": r(res.astype(np.float64).mean()), "min": r(res.min()), "max": r(res.max())},
            "normalization": {"low": r(lo), "high": r(hi), "mean": r(mean), "std": r(std)},
            "output": {"shape": list(net.shape), "mean": r(flat.astype(np.float64).mean()), "std": r(flat.astype(np.float64).std()),
                       "min": r(flat.min()), "max": r(flat.max()), "sum": r(flat.astype(np.float64).sum()),
                       "samples": {str(i): r(flat[i]) for i in idx}},
        })
        print(rel, pp.orientation_code(aff), ras.shape, res.shape, net.shape)
    dst = os.path.join(HERE, "..", "fixtures", "preprocess-parity.json")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", os.path.normpath(dst))


if __name__ == "__main__":
    main()
