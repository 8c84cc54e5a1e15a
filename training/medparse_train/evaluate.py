"""Held-out evaluation of a trained network, the way the engine runs it: contract preprocessing,
sliding windows of the model.json patch size (50 % overlap, Gaussian weights), threshold 0.5.

    /usr/bin/python3 -m medparse_train.evaluate --config training/configs/heart_mr.json \
        --checkpoint training/runs/heart-mr/best.pt [--max-cases N]

Per concept: Dice and HD95 (mm, on the working grid) on held-out cases of data sets that label the
concept; false-accept rate on certainly-absent (case, concept) pairs: the share where the volume
presence logit (max over windows) is > 0 and the mask is not empty. Results go to
<run-dir>/eval.json. Numbers are on the working grid, not the original image grid (`npm run eval`
does the latter through the TypeScript engine).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from scipy import ndimage

from .data import CaseStore
from .infer import dice, sliding_window
from .preprocess import background_value
from .model import build_model

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def hd95(pred, gt, spacing_zyx):
    if not pred.any() or not gt.any():
        return None
    sp = tuple(spacing_zyx)

    def surface(m):
        return m & ~ndimage.binary_erosion(m)

    sp_, sg = surface(pred), surface(gt)
    dt_g = ndimage.distance_transform_edt(~sg, sampling=sp)
    dt_p = ndimage.distance_transform_edt(~sp_, sampling=sp)
    d = np.concatenate([dt_g[sp_], dt_p[sg]])
    return float(np.percentile(d, 95))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-cases", type=int, default=0, help="per data set")
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(a.config))
    ci = {c: i for i, c in enumerate(cfg["concepts"])}
    store = CaseStore(cfg, ci, "val", os.path.join(REPO, "training", "runs", "cache"), max_cases=a.max_cases or None)
    ck = torch.load(a.checkpoint, map_location="cpu")
    model = build_model(cfg, len(cfg["concepts"]))
    model.load_state_dict(ck["model"])
    model.eval()
    patch = list(reversed(cfg["input"]["patch_size"]))
    sp = list(reversed(cfg["input"]["spacing"]))
    ids = list(range(len(cfg["concepts"])))
    per = {c: {"dice": [], "hd95": [], "presence_missed": 0, "n": 0} for c in cfg["concepts"]}
    fa = {c: [0, 0] for c in cfg["concepts"]}
    cases = []
    t0 = time.time()
    for d, c in store.all_cases():
        if c["image"] is None:
            continue
        pad = background_value(cfg["input"]["normalization"][c["case"]["modality"]])
        prob, pres = sliding_window(model, c["image"], patch, ids, pad)
        rec = {"case": c["case"]["case_id"], "dice": {}}
        for qi, cid in enumerate(cfg["concepts"]):
            pred = prob[qi] > 0.5
            if d["known"][qi]:
                gt = c["lut"][qi][c["labels"]]
                if gt.any():
                    dv = dice(pred, gt)
                    per[cid]["dice"].append(dv)
                    h = hd95(pred, gt, sp)
                    if h is not None:
                        per[cid]["hd95"].append(h)
                    per[cid]["n"] += 1
                    per[cid]["presence_missed"] += int(pres[qi] <= 0)
                    rec["dice"][cid] = round(dv, 4)
                else:
                    fa[cid][1] += 1
                    fa[cid][0] += int(pres[qi] > 0 and pred.any())
            elif d["absent"][qi]:
                fa[cid][1] += 1
                fa[cid][0] += int(pres[qi] > 0 and pred.any())
        cases.append(rec)
        print(json.dumps(rec), flush=True)
    summary = {}
    for cid in cfg["concepts"]:
        p = per[cid]
        s = {}
        if p["n"]:
            s.update(cases=p["n"], dice_mean=round(float(np.mean(p["dice"])), 4),
                     dice_median=round(float(np.median(p["dice"])), 4),
                     hd95_mm_median=round(float(np.median(p["hd95"])), 2) if p["hd95"] else None,
                     presence_missed=p["presence_missed"])
        if fa[cid][1]:
            s.update(absent_cases=fa[cid][1], false_accepts=fa[cid][0], false_accept_rate=round(fa[cid][0] / fa[cid][1], 4))
        if s:
            summary[cid] = s
    tot = [sum(v[0] for v in fa.values()), sum(v[1] for v in fa.values())]
    res = {"network": cfg["network_id"], "checkpoint": os.path.relpath(a.checkpoint, REPO), "step": ck["step"],
           "patch_size_xyz": cfg["input"]["patch_size"], "spacing_xyz": cfg["input"]["spacing"],
           "seconds": round(time.time() - t0), "concepts": summary,
           "false_accept_overall": {"false_accepts": tot[0], "absent_pairs": tot[1],
                                    "rate": round(tot[0] / tot[1], 4) if tot[1] else None},
           "cases": cases}
    out = a.out or os.path.join(os.path.dirname(a.checkpoint), "eval.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps({k: v for k, v in res.items() if k != "cases"}, indent=1))


if __name__ == "__main__":
    main()
