"""Training entry point.

    /usr/bin/python3 -m medparse_train.train --config training/configs/heart_mr.json [--device cuda]
        [--steps N] [--resume] [--run-dir training/runs/<name>]

(run from training/, or with PYTHONPATH=training). Fixed seeds; loss and held-out validation Dice per
concept logged to <run-dir>/log.jsonl; checkpoints <run-dir>/last.pt (every `ckpt_every` steps and at
the end) and best.pt (best mean validation Dice); --resume continues from last.pt, sampler state included.
On CUDA, bf16 autocast is used.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as Fn

from .data import CaseStore, PatchSampler, SampleStream, check_contrast_prior, expand_masks
from .pack import read_pack
from .export import load_weights
from .infer import dice, sliding_window
from .preprocess import background_value
from .model import build_model, count_params

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def load_config(path):
    with open(path) as f:
        cfg = json.load(f)
    for d in cfg.get("datasets", []):
        prior = d.get("synth", {}).get("contrast_prior")
        if prior is not None:
            check_contrast_prior(prior, f"{path}: datasets {d.get('name')}.synth")
    return cfg


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def loss_fn(logits, presence, masks, known, absent, cfg):
    """Soft Dice + BCE on concepts the sample's data set labels; BCE (all voxels negative) and presence
    on certainly-absent concepts; nothing on unknown concepts (partial labels)."""
    B, Q = known.shape
    logits = logits.float()
    presence = presence.float()
    valid = (known | absent).float()  # [B, Q]
    target = masks * known[:, :, None, None, None].float()  # absent -> all zero
    bce = Fn.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(dim=(2, 3, 4))  # [B, Q]
    bce = (bce * valid).sum() / valid.sum().clamp_min(1)
    p = torch.sigmoid(logits)
    inter = (p * target).sum(dim=(2, 3, 4))
    denom = p.sum(dim=(2, 3, 4)) + target.sum(dim=(2, 3, 4))
    has = (target.sum(dim=(2, 3, 4)) > 0).float() * known.float()
    dsc = 1 - (2 * inter + 1) / (denom + 1)
    dice_l = (dsc * has).sum() / has.sum().clamp_min(1)
    pres_t = (target.sum(dim=(2, 3, 4)) > 0).float()
    pres_l = Fn.binary_cross_entropy_with_logits(presence, pres_t, reduction="none")
    pres_l = (pres_l * valid).sum() / valid.sum().clamp_min(1)
    w = cfg["train"].get("loss_weights", {"dice": 1.0, "bce": 1.0, "presence": 0.2})
    total = w["dice"] * dice_l + w["bce"] * bce + w["presence"] * pres_l
    return total, {"dice": float(dice_l), "bce": float(bce), "presence": float(pres_l)}


def validate(model, store, cfg, device, max_cases=None, whole=True):
    """Per concept Dice on held-out cases (cases whose data set labels it), presence false-accept rate
    on certainly-absent concepts. whole=True runs each volume in one pass (fast monitor); the final
    evaluation uses the engine's sliding windows."""
    model.eval()
    ids = list(range(len(cfg["concepts"])))
    patch = list(reversed(cfg["input"]["patch_size"]))
    per = {c: [] for c in cfg["concepts"]}
    fa_n, fa_k = 0, 0
    n = 0
    for d, c in store.all_cases():
        if c["image"] is None:
            continue
        if max_cases and n >= max_cases:
            break
        n += 1
        pad = background_value(cfg["input"]["normalization"][c["case"]["modality"]])
        prob, pres = sliding_window(model, c["image"], patch, ids, pad, device=device, whole=whole)
        for qi, cid in enumerate(cfg["concepts"]):
            pred = prob[qi] > 0.5
            if d["known"][qi]:
                gt = c["lut"][qi][c["labels"]]
                dv = dice(pred, gt)
                if dv is not None and gt.any():
                    per[cid].append(dv)
            elif d["absent"][qi]:
                fa_k += 1
                fa_n += int(pres[qi] > 0 and pred.sum() > 0)
    model.train()
    out = {cid: float(np.mean(v)) for cid, v in per.items() if v}
    return out, (fa_n / fa_k if fa_k else None), n


def load_initial_weights(model, weights):
    """Fine-tuning start: every parameter from `weights`, except that a concept table (`embed.weight`) with
    fewer rows than the network's fills only its first rows. Concepts appended to a config since those
    weights were trained keep their fresh initialisation; every other mismatch is an error."""
    weights = dict(weights)
    table = model.embed.weight
    old = weights.get("embed.weight")
    if old is not None and old.shape[0] < table.shape[0] and old.shape[1] == table.shape[1]:
        grown = table.detach().clone()
        grown[: old.shape[0]] = old.to(grown.dtype)
        weights["embed.weight"] = grown
    model.load_state_dict(weights)
    return 0 if old is None else table.shape[0] - old.shape[0]


def _whole_number(minimum):
    """An argparse type: a whole number of at least `minimum`, refused with a one-line message otherwise."""

    def parse(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number of at least {minimum}, got {text}")
        return value

    return parse


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--run-dir")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time-limit-min", type=float, default=0, help="stop (and checkpoint) after this wall time")
    ap.add_argument("--time-budget-min", type=float, default=0,
                    help="schedule by wall time: the learning rate decays to zero over this many minutes, then stop")
    ap.add_argument("--pack", help="read cases from a pack (medparse_train.pack) instead of ../shared/data")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers doing the sampling/augmentation")
    ap.add_argument("--val-every", type=_whole_number(0),
                    help="override the config's val_every; 0 never validates (a CPU fine-tune measured afterwards "
                         "through the engine: whole-volume validation of brain-mr costs minutes on 2 cores)")
    ap.add_argument("--init-weights", help="start from these weights (.npz or .pt) with a fresh optimiser: fine-tuning")
    ap.add_argument("--lr", type=float, help="override the config's learning rate (e.g. lower for fine-tuning)")
    ap.add_argument("--train-patch", type=int, nargs=3, metavar=("X", "Y", "Z"),
                    help="override the config's train.patch_size (a CPU economy: body-ct's 96^3 step costs 7x a 64^3 "
                         "one on 2 cores; the engine still runs input.patch_size windows, so measure it through the engine)")
    ap.add_argument("--bf16", action="store_true",
                    help="bf16 autocast on the CPU as well (2.4x fewer CPU seconds per 96^3 body-ct step on a CPU with "
                         "AVX512-BF16; CUDA always uses it)")
    ap.add_argument("--ckpt-every", type=_whole_number(1),
                    help="override the config's ckpt_every (steps between checkpoints; on a CPU a step may take 10 s)")
    ap.add_argument("--batch-size", type=_whole_number(1),
                    help="override the config's batch size (on a 2-core CPU one 128x128x16 patch a step is ~4x faster per patch than two)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    tcfg = cfg["train"]
    if args.lr:
        tcfg["lr"] = args.lr
    if args.batch_size:
        tcfg["batch_size"] = args.batch_size
    if args.train_patch:
        tcfg["patch_size"] = list(args.train_patch)
    steps = args.steps or (10**9 if args.time_budget_min else tcfg["steps"])
    run_dir = args.run_dir or os.path.join(REPO, "training", "runs", cfg["name"])
    os.makedirs(run_dir, exist_ok=True)
    log_f = open(os.path.join(run_dir, "log.jsonl"), "a")

    def log(msg, **kv):
        rec = {"time": time.time(), "msg": msg, **kv} if isinstance(msg, str) else msg
        print(json.dumps(rec), flush=True)
        log_f.write(json.dumps(rec) + "\n")
        log_f.flush()

    seed_all(tcfg.get("seed", 0))
    concept_index = {c: i for i, c in enumerate(cfg["concepts"])}
    cache = os.path.join(REPO, "training", "runs", "cache")
    t0 = time.time()
    pack = read_pack(args.pack) if args.pack else None
    store = CaseStore(cfg, concept_index, "train", cache, log=lambda m: log(m), pack=pack)
    val_store = CaseStore(cfg, concept_index, "val", cache, log=lambda m: log(m), pack=pack)
    log(f"data loaded in {time.time() - t0:.0f}s")
    device = torch.device(args.device)
    model = build_model(cfg, len(cfg["concepts"])).to(device)
    if args.init_weights:
        added = load_initial_weights(model, load_weights(args.init_weights))
        if added:
            log(f"{added} concept rows new since {args.init_weights}: initialised fresh")
    opt = torch.optim.AdamW(model.parameters(), lr=tcfg.get("lr", 2e-3), weight_decay=tcfg.get("weight_decay", 1e-4))
    budget_s = args.time_budget_min * 60

    def progress(s):
        if budget_s:
            return min(1.0, (time.time() - t_start) / budget_s)
        return s / max(steps, 1)

    sched = lambda s: min(1.0, (s + 1) / tcfg.get("warmup", 50)) * (1 - progress(s)) ** 0.9
    sampler = PatchSampler(store, cfg, tcfg.get("seed", 0) + 1)
    start, best = 0, -1.0
    last = os.path.join(run_dir, "last.pt")
    if args.resume and os.path.exists(last):
        ck = torch.load(last, map_location=device)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        start, best = ck["step"], ck.get("best", -1.0)
        sampler.rng.bit_generator.state = ck["sampler_rng"]
        torch.set_rng_state(ck["torch_rng"].cpu())  # map_location moved it to the training device
        log(f"resumed from step {start}")
    amp = device.type == "cuda"
    cpu_bf16 = args.bf16 and not amp
    log("start", params=count_params(model), device=str(device), steps=steps, config=cfg["name"],
        args={k: v for k, v in vars(args).items() if v not in (None, False)}, train_patch=tcfg["patch_size"])
    if amp:
        torch.backends.cudnn.benchmark = True
    batches = None
    if args.workers > 0:
        stream = SampleStream(store, cfg, tcfg.get("seed", 0) + 1 + start, tcfg.get("batch_size", 2))
        batches = iter(torch.utils.data.DataLoader(stream, batch_size=None, num_workers=args.workers,
                                                   pin_memory=amp, prefetch_factor=4, persistent_workers=True))
    val_every = tcfg.get("val_every", 250) if args.val_every is None else args.val_every

    def save(path, step):
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best,
                    "sampler_rng": sampler.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                    "config": cfg}, path + ".tmp")
        os.replace(path + ".tmp", path)

    def save_weights(path):
        """Model weights alone as float32 arrays: small, and readable by any torch version."""
        np.savez(path, **{k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()})

    model.train()
    t_start = time.time()
    avg = None
    step = start
    for step in range(start, steps):
        for g in opt.param_groups:
            g["lr"] = tcfg.get("lr", 2e-3) * sched(step)
        batch = next(batches) if batches is not None else sampler.sample_batch(tcfg.get("batch_size", 2))
        img, labels, luts, known, absent = (t.to(device, non_blocking=True) for t in batch)
        masks = expand_masks(labels, luts)
        ids = torch.arange(len(cfg["concepts"]), device=device)
        if amp or cpu_bf16:
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
                logits, presence = model(img, ids)
        else:
            logits, presence = model(img, ids)
        loss, parts = loss_fn(logits, presence, masks, known, absent, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 12.0)
        opt.step()
        parts["loss"] = float(loss)
        avg = parts if avg is None else {k: 0.95 * avg[k] + 0.05 * v for k, v in parts.items()}
        done = step + 1
        if done % tcfg.get("log_every", 20) == 0:
            el = time.time() - t_start
            log({"step": done, "time": time.time(), "s_per_step": el / (done - start), **{k: round(v, 4) for k, v in avg.items()}})
        stop = (args.time_limit_min and (time.time() - t_start) > args.time_limit_min * 60) or \
            (budget_s and progress(done) >= 1.0)
        if val_every and (done % val_every == 0 or done == steps or stop):
            with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=cpu_bf16):
                res, fa, nv = validate(model, val_store, cfg, device, tcfg.get("val_max_cases", 6), whole=True)
            mean = float(np.mean(list(res.values()))) if res else 0.0
            log({"step": done, "time": time.time(), "val_dice": res, "val_mean_dice": mean, "val_false_accept": fa,
                 "val_cases": nv})
            if mean > best:
                best = mean
                save(os.path.join(run_dir, "best.pt"), done)
                save_weights(os.path.join(run_dir, "best_weights.npz"))
        if done % (args.ckpt_every or tcfg.get("ckpt_every", 100)) == 0 or done == steps or stop:
            save(last, done)
            save_weights(os.path.join(run_dir, "last_weights.npz"))  # what export reads, current at every checkpoint
        if stop:
            log(f"time limit reached at step {done}")
            break
    save_weights(os.path.join(run_dir, "last_weights.npz"))
    log("done", step=step + 1, best=best)


if __name__ == "__main__":
    main()
