"""Re-fit a trained network's presence head with its image features frozen.

The presence logit is ctx(bottleneck, concept) + scale * max mask logit + bias (model.py). When a network
says "yes" on scans unlike its training images (brain-mr called hippocampus present in cardiac MR), the
segmentation is not at fault, only the head that reads the features. Re-fitting the head alone needs one
forward pass per patch (0.4 s for an 80^3 patch on 2 CPU threads) instead of a training step (6.6 s), so
it runs on a laptop: sample patches as training does (the config's data sets, including certain-negative
ones such as ACDC for brain-mr), record pooled bottleneck features and per-concept maximum logits, fit
presence_q / presence_scale / presence_bias by logistic loss, and write the whole network's weights.

  python -m medparse_train.tune_presence --config configs/brain_mr.json \
      --weights runs/gpu/brain_mr/last_weights.npz --patches 800 --out runs/tuned/brain_mr_weights.npz

Mask logits are untouched: the mask output of the written network equals the input network's.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as Fn

from .data import CaseStore, PatchSampler, expand_masks
from .export import checkpoint_step, load_weights
from .model import build_model
from .train import REPO, load_config, seed_all

HEAD = ("presence_q.", "presence_scale", "presence_bias")


@torch.no_grad()
def patch_features(model, sampler, n, log):
    """pooled [N, 2Cb], max logit [N, Q], present [N, Q], valid [N, Q], dataset name per patch."""
    ids = torch.arange(sampler.store.q)
    pooled, smax, present, valid, names = [], [], [], [], []
    t0 = time.time()
    for i in range(n):
        img, labels, luts, known, absent = sampler.sample_batch(1)
        feats, bottleneck = model.encode(img)
        qb = model.query(model.embed(ids))
        logits = Fn.conv3d(feats, qb[:, : model.feature_channels, None, None, None], qb[:, model.feature_channels])
        pooled.append(torch.cat([bottleneck.mean(dim=(2, 3, 4)), bottleneck.amax(dim=(2, 3, 4))], dim=1)[0])
        smax.append(logits.flatten(2).amax(dim=2)[0])
        masks = expand_masks(labels, luts)
        present.append(((masks.sum(dim=(2, 3, 4)) > 0) & known)[0])
        valid.append((known | absent)[0])
        names.append(sampler.last_dataset)
        if (i + 1) % 100 == 0:
            log(f"features of {i + 1}/{n} patches, {(time.time() - t0) / (i + 1):.2f} s per patch")
    return torch.stack(pooled), torch.stack(smax), torch.stack(present).float(), torch.stack(valid).float(), names


def head_logits(model, pooled, smax):
    """The model's presence formula on recorded features."""
    pq = model.presence_q(model.embed.weight)
    ctx = pooled @ pq.t() / (pooled.shape[1] ** 0.5)
    return ctx + model.presence_scale * smax + model.presence_bias


def report(model, pooled, smax, present, valid, names, label, log):
    """Patch-level accuracy of presence > 0 on valid (labelled or certainly absent) concepts, per data set."""
    with torch.no_grad():
        decided = head_logits(model, pooled, smax) > 0
    for name in sorted(set(names)):
        rows = torch.tensor([n == name for n in names])
        v = valid[rows].bool()
        pos = present[rows].bool() & v
        neg = ~present[rows].bool() & v
        d = decided[rows]
        tp = (d & pos).sum().item() / max(1, pos.sum().item())
        fa = (d & neg).sum().item() / max(1, neg.sum().item())
        log(f"{label} {name}: patches {int(rows.sum())}, present called present {tp:.3f} "
            f"({int(pos.sum())}), absent called present {fa:.3f} ({int(neg.sum())})")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--patches", type=int, default=800)
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--features", help="cache of the sampled patch features (.npz): read when it exists, else written, "
                                       "so the head can be re-fitted without sampling again")
    ap.add_argument("--weight", action="append", default=[], metavar="DATASET=W",
                    help="override a data set's sampling weight (more certain negatives)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    for override in args.weight:
        name, w = override.split("=")
        matches = [d for d in cfg["datasets"] if d["name"] == name]
        assert matches, f"--weight: no data set {name} in {args.config}"
        matches[0]["weight"] = float(w)
    seed_all(args.seed)
    log = lambda m: print(json.dumps({"time": round(time.time()), "msg": m}), flush=True)
    model = build_model(cfg, len(cfg["concepts"]))
    model.load_state_dict(load_weights(args.weights))
    model.eval()
    concept_index = {c: i for i, c in enumerate(cfg["concepts"])}
    if args.features and os.path.exists(args.features):
        with np.load(args.features) as z:
            pooled, smax, present, valid = (torch.from_numpy(z[k]) for k in ("pooled", "smax", "present", "valid"))
            names = [str(n) for n in z["names"]]
        log(f"features of {len(names)} patches read from {args.features}")
    else:
        store = CaseStore(cfg, concept_index, "train", os.path.join(REPO, "training", "runs", "cache"), log=log)
        sampler = PatchSampler(store, cfg, args.seed)
        pooled, smax, present, valid, names = patch_features(model, sampler, args.patches, log)
        if args.features:
            np.savez(args.features, pooled=pooled.numpy(), smax=smax.numpy(), present=present.numpy(),
                     valid=valid.numpy(), names=np.array(names))

    # a fixed fifth of the patches is kept out of the fit to report on
    order = np.random.default_rng(args.seed).permutation(len(names))
    held = torch.from_numpy(order[: len(names) // 5])
    fit = torch.from_numpy(order[len(names) // 5:])
    pick = lambda idx: (pooled[idx], smax[idx], present[idx], valid[idx], [names[i] for i in idx.tolist()])
    report(model, *pick(held), "before, held-out patches", log)

    for name, p in model.named_parameters():
        p.requires_grad = name.startswith(HEAD)
    head = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(head, lr=1e-3)
    fp, fs, ft, fv, _ = pick(fit)
    for epoch in range(args.epochs):
        loss = (Fn.binary_cross_entropy_with_logits(head_logits(model, fp, fs), ft, reduction="none") * fv).sum()
        loss = loss / fv.sum().clamp_min(1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (epoch + 1) % 100 == 0:
            log(f"epoch {epoch + 1}: presence BCE {float(loss):.4f}")
    report(model, *pick(held), "after, held-out patches", log)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez(args.out, **{k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()})
    write_step_log(args.out, checkpoint_step(args.weights), len(names))
    log(f"wrote {args.out}")


def write_step_log(out, step, patches):
    """log.jsonl beside the weights, so export records the training step of the (unchanged) features."""
    with open(os.path.join(os.path.dirname(os.path.abspath(out)), "log.jsonl"), "a") as f:
        f.write(json.dumps({"time": time.time(), "msg": "done", "step": step, "presence_head_patches": patches}) + "\n")


if __name__ == "__main__":
    main()
