"""Can brain-mr learn the SynthSeg brain structures, and from which synthetic contrasts? A CPU probe.

Trains the brain network from scratch on the SynthSeg label maps alone (small patches, batch 2, the
trainer's loss and sampler), with one of three ways to give the synthetic images their contrast:

  random   every label's intensity drawn uniformly per sample (SynthSeg's domain randomisation)
  fixed    one intensity table for every sample (no intensity augmentation): tests the plumbing only
  prior    the config's `contrast_prior` (T1 order: white matter brightest, CSF darkest) every sample

then reports Dice on training patches (`patch_dice`) and, when ../shared is there, on the real
FreeSurfer T1 (norm.mgz against aparc.a2009s+aseg, one whole-volume pass; cortex = the Destrieux parcels).

  python -m medparse_train.probe_contrast --arm prior --steps 400 --pack ../packs/brain_mr.npz

Measured on 2 CPU threads (400 steps of 48^3, ~0.9 s a step; MODEL_CARD.md, brain structures): random learnt nothing
(patch Dice 0.00 everywhere, Dice loss 0.92 to 0.95), fixed learnt (white matter 0.56/0.51), prior learnt
more slowly (0.43/0.29) and carried to the real T1 (white matter 0.53/0.55, hippocampus 0.12).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from . import data
from . import preprocess as pp
from .data import CaseStore, PatchSampler, expand_masks
from .infer import sliding_window
from .model import build_model
from .pack import read_pack
from .patch_dice import patch_dice
from .train import load_config, loss_fn, seed_all

FREESURFER = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "freesurfer"))
# aparc.a2009s+aseg splits each hemisphere's cortex into Destrieux parcels
CORTEX = {"cerebral_cortex_left": list(range(11101, 11176)), "cerebral_cortex_right": list(range(12101, 12176))}


def fixed_contrast(table):
    """A synthesize() that gives every sample the same contrast: one intensity per label value."""

    def synthesize(lab_t, scfg, kind, rng, spacing_zyx):
        lab = lab_t.long()
        img = torch.from_numpy(table.astype(np.float32))[lab]
        img[lab == 0] = 0
        img = img + 0.02 * torch.randn(img.shape)
        return torch.from_numpy(pp.normalize(img.clamp_min(0).numpy(), data.SYNTH_MR_NORMALIZATION))

    return synthesize


def real_t1_dice(model, cfg, concepts):
    """Dice per concept on the FreeSurfer subject, or None when ../shared is not there."""
    image_path = os.path.join(FREESURFER, "norm.mgz")
    if not os.path.exists(image_path):
        return None
    index = {c: i for i, c in enumerate(cfg["concepts"])}
    data_, affine, zooms = pp.load_nifti(image_path)
    image, _, _ = pp.preprocess_image(data_, affine, zooms, cfg["input"], "MR")
    image = pp.to_network_layout(image)
    labels, laffine, lzooms = pp.load_nifti(os.path.join(FREESURFER, "aparc.a2009s+aseg.mgz"))
    labels = np.rint(np.asarray(labels)).astype(np.int32)
    labels = pp.to_network_layout(pp.preprocess_labels(labels, laffine, lzooms, cfg["input"]))
    # the brain and a margin: the rest of a skull-stripped volume is zeros
    inside = np.argwhere(image != image.min())
    box = tuple(slice(max(a - 8, 0), b + 9) for a, b in zip(inside.min(0), inside.max(0)))
    image, labels = image[box], labels[box]
    pad = pp.background_value(cfg["input"]["normalization"]["MR"])
    with torch.no_grad():
        prob, _ = sliding_window(model, image, list(image.shape), [index[c] for c in concepts], pad, whole=True)
    out = {}
    for q, concept in enumerate(concepts):
        truth = np.isin(labels, concepts[concept])
        predicted = prob[q] > 0.5
        out[concept] = round(float(2 * (predicted & truth).sum() / max(predicted.sum() + truth.sum(), 1)), 3)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/brain_mr.json")
    ap.add_argument("--arm", choices=["random", "fixed", "prior"], required=True)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--patch", type=int, default=48)
    ap.add_argument("--pack", help="the brain pack (.npz) instead of ../shared/data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="save the probe's weights here (.npz)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    cfg["datasets"] = [d for d in cfg["datasets"] if d["name"] == "synthseg"]
    if not cfg["datasets"]:
        raise SystemExit(f"{args.config} has no synthseg data set to probe")
    synth = cfg["datasets"][0].setdefault("synth", {})
    if args.arm == "prior":
        if "contrast_prior" not in synth:
            raise SystemExit(f"{args.config}: the synthseg data set has no contrast_prior")
        synth["contrast_prior"] = {**synth["contrast_prior"], "p": 1.0}
    else:
        synth.pop("contrast_prior", None)
    if args.arm == "fixed":
        data.synthesize = fixed_contrast(np.random.default_rng(0).uniform(0, 1, 1024))
        cfg["train"]["augment"]["intensity"] = {}
    cfg["train"]["patch_size"] = [args.patch] * 3
    index = {c: i for i, c in enumerate(cfg["concepts"])}
    pack = None if args.pack is None else [p for p in read_pack(args.pack) if p[0]["dataset"] == "synthseg"]
    store = CaseStore(cfg, index, pack=pack, log=lambda m: None)
    seed_all(1)
    model = build_model(cfg, len(cfg["concepts"]))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sampler = PatchSampler(store, cfg, 2)
    ids = torch.arange(len(cfg["concepts"]))
    started, avg = time.time(), None
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = 2e-3 * min(1.0, (step + 1) / 30) * (1 - step / args.steps) ** 0.9
        image, labels, luts, known, absent = sampler.sample_batch(2)
        logits, presence = model(image, ids)
        loss, parts = loss_fn(logits, presence, expand_masks(labels, luts), known, absent, cfg)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 12.0)
        opt.step()
        avg = parts if avg is None else {k: 0.95 * avg[k] + 0.05 * v for k, v in parts.items()}
        if (step + 1) % 25 == 0:
            print(json.dumps({"arm": args.arm, "step": step + 1, "s": round(time.time() - started),
                              **{k: round(v, 3) for k, v in avg.items()}}), flush=True)
    model.eval()
    if args.out:
        np.savez(args.out, **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    names = {v: k for k, v in index.items()}
    scores, _ = patch_dice(model, PatchSampler(store, cfg, 99), 16)
    print(json.dumps({"arm": args.arm, "patch_dice": {names[q]: round(d, 3) for q, d in sorted(scores.items())}}))
    concepts = {**cfg["datasets"][0]["concepts"], **CORTEX}
    print(json.dumps({"arm": args.arm, "real_t1_dice": real_t1_dice(model, cfg, concepts)}))


if __name__ == "__main__":
    main()
