"""Sliding-window inference as the engine does it (docs/model-contract.md): windows of patch_size with
50 % overlap, Gaussian weighting (sigma = patch / 8), blended sigmoid probabilities, volume presence =
max patch presence. Works on a preprocessed [Z, Y, X] array on the working grid."""
from __future__ import annotations

import math

import numpy as np
import torch


def _gauss(patch):
    axes = []
    for n in patch:
        c = (n - 1) / 2
        s = n / 8
        axes.append(np.exp(-0.5 * ((np.arange(n) - c) / s) ** 2))
    w = axes[0][:, None, None] * axes[1][None, :, None] * axes[2][None, None, :]
    w = w / w.max()
    return np.maximum(w, 1e-3).astype(np.float32)


def _starts(n, p):
    if n <= p:
        return [0]
    step = p / 2
    k = int(math.ceil((n - p) / step)) + 1
    return sorted({int(round(i * (n - p) / (k - 1))) for i in range(k)})


@torch.no_grad()
def sliding_window(model, image_zyx, patch_zyx, concept_ids, pad_value, device="cpu", whole=False):
    """Returns (probabilities [Q, Z, Y, X] float32, presence logits [Q]). pad_value: the contract's
    background (preprocess.background_value), what the network sees beyond the image's edge."""
    q = len(concept_ids)
    ids = torch.as_tensor(concept_ids, dtype=torch.long, device=device)
    shape = image_zyx.shape
    if whole:
        # one pass over the whole volume, but never a smaller field than the training patch: instance
        # norm statistics over a shrunk patch differ from training's (hippocampus Dice 0.12-0.82 vs 0.84-0.92)
        patch_zyx = [max(p, int(math.ceil(s / 16) * 16)) for s, p in zip(shape, patch_zyx)]
    # pad to at least one patch
    padded_shape = [max(s, p) for s, p in zip(shape, patch_zyx)]
    img = np.full(padded_shape, pad_value, np.float32)
    img[: shape[0], : shape[1], : shape[2]] = image_zyx
    w = _gauss(patch_zyx)
    acc = np.zeros((q, *padded_shape), np.float32)
    wsum = np.zeros(padded_shape, np.float32)
    presence = np.full(q, -np.inf, np.float32)
    for z in _starts(padded_shape[0], patch_zyx[0]):
        for y in _starts(padded_shape[1], patch_zyx[1]):
            for x in _starts(padded_shape[2], patch_zyx[2]):
                sl = (slice(z, z + patch_zyx[0]), slice(y, y + patch_zyx[1]), slice(x, x + patch_zyx[2]))
                t = torch.from_numpy(img[sl][None, None].copy()).to(device)
                logits, pres = model(t, ids)
                p = torch.sigmoid(logits[0].float()).cpu().numpy()
                acc[(slice(None),) + sl] += p * w
                wsum[sl] += w
                presence = np.maximum(presence, pres[0].float().cpu().numpy())
    prob = acc / np.maximum(wsum, 1e-8)
    return prob[:, : shape[0], : shape[1], : shape[2]], presence


def dice(pred: np.ndarray, gt: np.ndarray):
    s = pred.sum() + gt.sum()
    if s == 0:
        return None
    return float(2 * np.logical_and(pred, gt).sum() / s)
