"""Did the network learn each data set? Dice per concept on patches sampled exactly as training samples them.

A held-out number near zero can mean a domain gap or a network that never learnt the concept; this tells
them apart cheaply (one forward pass per patch, no sliding window). Model 0.3.0's brain-mr scored 0.00
to 0.24 here on its own SynthSeg training patches (cerebral white matter 0.001), so its brain structures
were never learnt, not merely lost on real scans. Run it on every data set before exporting a network.

  python -m medparse_train.patch_dice --config configs/brain_mr.json \\
      --weights runs/gpu/brain_mr/last_weights.npz --dataset synthseg --patches 16

Use --pack for the packed cases (what the GPU trained on), else ../shared/data is read.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from .data import CaseStore, PatchSampler, expand_masks
from .export import load_weights
from .model import build_model
from .pack import read_pack
from .train import load_config, seed_all

MIN_VOXELS = 50  # a concept with fewer true voxels in a patch is not scored there (Dice of a sliver)


@torch.no_grad()
def patch_dice(model, sampler, patches, batch_size=2):
    """Mean Dice per concept index over the sampled patches where the concept is labelled and present."""
    ids = torch.arange(sampler.store.q)
    scores = {}
    for _ in range(max(1, patches // batch_size)):
        image, labels, luts, known, _ = sampler.sample_batch(batch_size)
        masks = expand_masks(labels, luts) > 0.5
        logits, _ = model(image, ids)
        predicted = logits > 0
        for b in range(image.shape[0]):
            for q in torch.nonzero(known[b]).flatten().tolist():
                truth = masks[b, q]
                if int(truth.sum()) < MIN_VOXELS:
                    continue
                both = int((predicted[b, q] & truth).sum())
                scores.setdefault(q, []).append(2 * both / (int(predicted[b, q].sum()) + int(truth.sum())))
    return {q: float(np.mean(v)) for q, v in scores.items()}, {q: len(v) for q, v in scores.items()}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--dataset", required=True, help="one data set of the config")
    ap.add_argument("--patches", type=int, default=16)
    ap.add_argument("--pack", help="the network's pack (.npz) instead of ../shared/data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    names = [d["name"] for d in cfg["datasets"]]
    if args.dataset not in names:
        raise SystemExit(f"--dataset {args.dataset}: not a data set of {args.config} ({', '.join(names)})")
    cfg["datasets"] = [d for d in cfg["datasets"] if d["name"] == args.dataset]
    seed_all(args.seed)
    model = build_model(cfg, len(cfg["concepts"]))
    model.load_state_dict(load_weights(args.weights))
    model.eval()
    pack = None
    if args.pack:
        pack = [p for p in read_pack(args.pack) if p[0]["dataset"] == args.dataset]
    store = CaseStore(cfg, {c: i for i, c in enumerate(cfg["concepts"])}, "train", None, log=print, pack=pack)
    if not store.datasets:
        raise SystemExit(f"no training cases of {args.dataset} found")
    means, counts = patch_dice(model, PatchSampler(store, cfg, args.seed), args.patches)
    print(f"| concept | patches | Dice on {args.dataset} training patches |")
    print("|---|---|---|")
    for q in sorted(means):
        print(f"| {cfg['concepts'][q]} | {counts[q]} | {means[q]:.3f} |")


if __name__ == "__main__":
    main()
