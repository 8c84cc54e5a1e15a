"""The engine's preprocessing contract (docs/model-contract.md), in NumPy.

Both sides must give the same network input for the same volume; `parity_fixture.py` writes a fixture
that the TypeScript test compares against.

Steps:
1. reorient to RAS by exact axis permutation and flips (axis order chosen from the affine, strongest
   alignments first, as `axisMapping` in src/core/orientation.ts; nibabel's io_orientation takes the voxel
   axes in order instead, which differs on strongly oblique stacks: the contract is this one);
2. trilinear resampling to the working spacing keeping the field of view centred
   (new size = max(1, round(n * spacing / target)); target voxel i maps to source coordinate
   s * i + (n - 1) / 2 - s * (m - 1) / 2 with s = target / spacing; coordinates in [-0.5, n - 0.5] are
   clamped to the edge voxel, outside gets 0), as src/ops/resample.ts;
3. normalisation (`ct_clip` or `percentile_zscore`, numpy-style linear percentiles; population std
   floored at 1e-8; with nonzero_only the voxels that were 0 stay 0);
4. arrays are [X, Y, Z] here (nibabel order); the network gets `arr.transpose(2, 1, 0)` = [Z, Y, X].
"""
from __future__ import annotations

import numpy as np

POSITIVE = "RAS"
NEGATIVE = "LPI"


def axis_mapping(affine: np.ndarray):
    """For each voxel axis: the world axis it is most aligned with and the sign (+1 towards R/A/S)."""
    a = np.asarray(affine, dtype=np.float64)[:3, :3]
    cos = a / np.maximum(np.linalg.norm(a, axis=0, keepdims=True), 1e-30)  # columns = voxel axes
    cands = []
    for voxel in range(3):
        for world in range(3):
            cands.append((abs(cos[world, voxel]), voxel, world, cos[world, voxel]))
    # stable sort on |value| descending, ties in (voxel, world) order as the TS code
    order = sorted(range(len(cands)), key=lambda i: -cands[i][0])
    world_axis = [-1, -1, -1]
    sign = [1, 1, 1]
    used = set()
    for i in order:
        _, voxel, world, value = cands[i]
        if world_axis[voxel] != -1 or world in used:
            continue
        world_axis[voxel] = world
        sign[voxel] = -1 if value < 0 else 1
        used.add(world)
    return world_axis, sign


def orientation_code(affine) -> str:
    w, s = axis_mapping(affine)
    return "".join(POSITIVE[w[i]] if s[i] > 0 else NEGATIVE[w[i]] for i in range(3))


SLICE_STACK_RATIO = 1.5


def slice_stack_mapping(affine, zooms):
    """axis_mapping, except that a clear slice axis (voxels at least SLICE_STACK_RATIO times thicker than
    along both others) is assigned to world S-I, trading places with the axis that was; each of the two
    takes the sign of its cosine on its new world axis (src/core/orientation.ts sliceStackMapping)."""
    world_axis, sign = axis_mapping(affine)
    lengths = [float(z) for z in zooms[:3]]
    thick = int(np.argmax(lengths))
    if not all(c == thick or lengths[thick] >= SLICE_STACK_RATIO * l for c, l in enumerate(lengths)):
        return world_axis, sign
    current = world_axis.index(2)
    if current == thick:
        return world_axis, sign
    a = np.asarray(affine, dtype=np.float64)[:3, :3]
    freed = world_axis[thick]
    world_axis, sign = list(world_axis), list(sign)
    world_axis[thick], world_axis[current] = 2, freed
    sign[thick] = -1 if a[2, thick] < 0 else 1
    sign[current] = -1 if a[freed, current] < 0 else 1
    return world_axis, sign


def reorient_to_ras(data: np.ndarray, affine: np.ndarray, zooms, slice_axis: str = "nearest"):
    """Exact permutation/flips so that voxel axes point to R, A, S (with slice_axis "thickest", a slice
    stack's thick axis becomes z instead). Returns (data, affine, spacing)."""
    if slice_axis not in ("nearest", "thickest"):
        raise ValueError(f'slice_axis is {slice_axis!r}; expected "nearest" or "thickest"')
    world_axis, sign = slice_stack_mapping(affine, zooms) if slice_axis == "thickest" else axis_mapping(affine)
    # voxel axis that maps to world axis w
    perm = [world_axis.index(w) for w in range(3)]
    out = np.transpose(data, perm)
    affine = np.asarray(affine, dtype=np.float64)
    new_aff = affine.copy()
    new_aff[:, :3] = affine[:, perm]
    spacing = [float(zooms[p]) for p in perm]
    for w in range(3):
        if sign[perm[w]] < 0:
            out = np.flip(out, axis=w)
            n = out.shape[w]
            new_aff[:, 3] = new_aff[:, 3] + new_aff[:, w] * (n - 1)
            new_aff[:, w] = -new_aff[:, w]
    return np.ascontiguousarray(out), new_aff, spacing


def target_shape(shape, spacing, target):
    return tuple(max(1, int(np.floor(shape[a] * spacing[a] / target[a] + 0.5))) for a in range(3))


def _axis_table(n: int, m: int, scale: float):
    """Per-axis lower index, weight and validity for the centred linear map (see module doc)."""
    i = np.arange(m, dtype=np.float64)
    c = scale * i + (n - 1) / 2.0 - scale * (m - 1) / 2.0
    snap = np.round(c)
    c = np.where(np.abs(c - snap) < 1e-7, snap, c)
    valid = (c >= -0.5 - 1e-6) & (c <= n - 0.5 + 1e-6)
    c = np.clip(c, 0, n - 1)
    lo = np.floor(c).astype(np.int64)
    lo = np.minimum(lo, max(n - 2, 0))
    w = c - lo
    if n == 1:
        lo[:] = 0
        w[:] = 0
    hi = np.minimum(lo + 1, n - 1)
    return lo, hi, w, valid


def resample_linear(data: np.ndarray, spacing, target, fill: float = 0.0) -> np.ndarray:
    """Trilinear resampling to `target` spacing, field of view centred; float32 out."""
    shape = data.shape
    new_shape = target_shape(shape, spacing, target)
    out = np.asarray(data, dtype=np.float64)
    valid_all = []
    for ax in range(3):
        n, m = shape[ax], new_shape[ax]
        lo, hi, w, valid = _axis_table(n, m, target[ax] / spacing[ax])
        a = np.take(out, lo, axis=ax)
        b = np.take(out, hi, axis=ax)
        wshape = [1, 1, 1]
        wshape[ax] = m
        wr = w.reshape(wshape)
        out = a * (1 - wr) + b * wr
        valid_all.append(valid)
    if not all(v.all() for v in valid_all):
        mask = valid_all[0][:, None, None] & valid_all[1][None, :, None] & valid_all[2][None, None, :]
        out = np.where(mask, out, fill)
    return out.astype(np.float32)


def resample_nearest(labels: np.ndarray, spacing, target) -> np.ndarray:
    """Nearest-neighbour resampling (label maps) on the same grid as resample_linear."""
    shape = labels.shape
    new_shape = target_shape(shape, spacing, target)
    out = labels
    for ax in range(3):
        n, m = shape[ax], new_shape[ax]
        scale = target[ax] / spacing[ax]
        c = scale * np.arange(m) + (n - 1) / 2.0 - scale * (m - 1) / 2.0
        idx = np.clip(np.floor(c + 0.5).astype(np.int64), 0, n - 1)
        out = np.take(out, idx, axis=ax)
    return np.ascontiguousarray(out)


def np_percentiles(values: np.ndarray, ps):
    """numpy 'linear' percentiles (the TS `percentiles`)."""
    return [float(v) for v in np.percentile(values.astype(np.float64), ps)]


def background_value(spec: dict) -> float:
    """Normalised value of "nothing there", used beyond the image's edge in training and inference
    (as src/runtime/preprocess.ts backgroundValue): air for CT, 0 for z-scored MR."""
    if spec["type"] == "ct_clip":
        return (spec.get("lower", -1000.0) - spec.get("mean", 0.0)) / spec.get("std", 300.0)
    return 0.0


def normalize(data: np.ndarray, spec: dict) -> np.ndarray:
    """Contract normalisation of a whole (resampled) volume; float32 out."""
    kind = spec["type"]
    x = np.asarray(data, dtype=np.float32)
    if kind == "ct_clip":
        lo, hi = spec.get("lower", -1000.0), spec.get("upper", 1000.0)
        mean, std = spec.get("mean", 0.0), spec.get("std", 300.0)
        return ((np.clip(x, lo, hi) - mean) / std).astype(np.float32)
    if kind == "percentile_zscore":
        nonzero = bool(spec.get("nonzero_only", False))
        sel = (x != 0) & ~np.isnan(x) if nonzero else ~np.isnan(x)
        if not sel.any():
            return np.zeros_like(x)
        lo, hi = np_percentiles(x[sel], [spec.get("lower_percentile", 0.5), spec.get("upper_percentile", 99.5)])
        clipped = np.clip(x, lo, hi).astype(np.float32)
        v = clipped[sel].astype(np.float64)
        mean = v.mean()
        std = max(float(np.sqrt(((v - mean) ** 2).mean())), 1e-8)
        out = ((clipped.astype(np.float64) - mean) / std).astype(np.float32)
        if nonzero:
            out[~sel] = 0
        return out
    raise ValueError(f"unknown normalization {kind}")


def window_to_hu(data, scale_offset) -> np.ndarray:
    """HU of an image stored as a fixed window of the HU scale (btcv_ct_half: 8-bit, HU = v * 400 / 255 - 125).
    Values at the window's ends stand for "that far or beyond"; the network's soft-tissue window
    (configs/body_ct.json, the same [-125, 275] HU) clips them exactly there, so such an image and a real HU
    scan give the network the same input (docs/model-contract.md)."""
    scale, offset = scale_offset
    return (np.asarray(data, dtype=np.float64) * scale + offset).astype(np.float32)


def load_nifti(path: str):
    """(data [X,Y,Z] float32 or labels, affine, zooms) with nibabel; scaling applied."""
    import nibabel as nib

    img = nib.load(path)
    data = np.asarray(img.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    return data, img.affine, img.header.get_zooms()[:3]


def preprocess_image(data, affine, zooms, net_input: dict, modality: str):
    """Full contract: reorient, resample, normalise. Returns (array [X,Y,Z] float32, ras_affine, spacing)."""
    slice_axis = net_input.get("slice_axis", "nearest")
    ras, aff, spacing = reorient_to_ras(np.asarray(data, dtype=np.float32), affine, zooms, slice_axis)
    res = resample_linear(ras, spacing, net_input["spacing"])
    norm = normalize(res, net_input["normalization"][modality])
    return norm, aff, spacing


def preprocess_labels(labels, affine, zooms, net_input: dict):
    ras, _, spacing = reorient_to_ras(np.asarray(labels), affine, zooms, net_input.get("slice_axis", "nearest"))
    return resample_nearest(ras, spacing, net_input["spacing"])


def to_network_layout(arr_xyz: np.ndarray) -> np.ndarray:
    """[X, Y, Z] -> [Z, Y, X] (x fastest in memory), as the contract's memory layout."""
    return np.ascontiguousarray(arr_xyz.transpose(2, 1, 0))
