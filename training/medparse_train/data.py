"""Case loading (contract preprocessing, cached), patch sampling, augmentation and SynthSeg-style
synthesis. All arrays here are in the network layout [Z, Y, X]; sizes/spacings from configs are x, y, z.
"""
from __future__ import annotations

import hashlib
import math
import os

import numpy as np
import torch
import torch.nn.functional as Fn

from . import preprocess as pp
from .datasets import list_cases, load_dataset_labels

_DL = {}


def DATASET_LABELS():
    if not _DL:
        _DL.update(load_dataset_labels(os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))))
    return _DL

# ---------------------------------------------------------------- loading


def _cache_path(cache_dir, case, net_input):
    key = repr((case["image"], case["labels"], net_input["spacing"], net_input["normalization"]))
    if case.get("image_to_hu"):
        key += repr(case["image_to_hu"])
    h = hashlib.sha1(key.encode()).hexdigest()[:16]
    return os.path.join(cache_dir, f"{case['case_id'].replace('/', '_')}_{h}.npz")


def load_case(case, net_input, cache_dir=None):
    """Image (normalised, float32) and labels on the working grid, [Z, Y, X]; image None if synthetic."""
    if cache_dir:
        cp = _cache_path(cache_dir, case, net_input)
        if os.path.exists(cp):
            z = np.load(cp)
            return (z["image"] if "image" in z.files else None), z["labels"]
    lab, aff, zooms = pp.load_nifti(case["labels"])
    lab = np.asarray(lab)
    if lab.dtype.kind == "f":
        lab = np.rint(lab)
    lab = lab.astype(np.int16 if lab.max() < 32767 else np.int32)
    labels = pp.to_network_layout(pp.preprocess_labels(lab, aff, zooms, net_input))
    image = None
    if case["image"]:
        data, iaff, izooms = pp.load_nifti(case["image"])
        if case.get("image_to_hu"):
            data = pp.window_to_hu(data, case["image_to_hu"])
        img, _, _ = pp.preprocess_image(data, iaff, izooms, net_input, case["modality"])
        image = pp.to_network_layout(img)
        assert image.shape == labels.shape, (case, image.shape, labels.shape)
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        if image is None:
            np.savez(cp, labels=labels)
        else:
            np.savez(cp, image=image, labels=labels)
    return image, labels


class CaseStore:
    """All cases of one network's datasets, preprocessed in memory, with concept lookups."""

    def __init__(self, cfg, concept_index, split="train", cache_dir=None, log=print, max_cases=None, pack=None):
        self.cfg = cfg
        self.net_input = cfg["input"]
        self.concepts = cfg["concepts"]
        self.q = len(self.concepts)
        self.datasets = []
        for ds in cfg["datasets"]:
            if split == "val" and not ds.get("validate", True):
                continue
            if pack is not None:
                if split == "train" and not any(c["dataset"] == ds["name"] for c, _, _ in pack):
                    raise SystemExit(f"the pack has no cases of data set {ds['name']}, which the config lists: "
                                     "regenerate it with python -m medparse_train.pack")
                cases = [c for c, _, _ in pack if c["dataset"] == ds["name"] and c["held_out"] == (split == "val")]
                packed = {c["case_id"]: (img, lab) for c, img, lab in pack}
            else:
                cases = [c for c in list_cases(ds["name"]) if c["held_out"] == (split == "val")]
            if max_cases:
                cases = cases[:max_cases]
            if not cases:
                continue
            # lookup table: label value -> bitmask over concepts; known/absent vectors
            known = np.zeros(self.q, bool)
            absent = np.zeros(self.q, bool)
            values = {}
            mapping = dict(ds.get("concepts", {}))
            if ds.get("label_map"):
                # exact concepts of data/dataset-labels.json for this data set, restricted to the network's
                for lv, info in DATASET_LABELS()[ds["label_map"]]["labels"].items():
                    if info.get("relation") == "exact" and info.get("concept") in concept_index:
                        mapping.setdefault(info["concept"], []).append(int(lv))
            for cid, labs in mapping.items():
                if cid not in concept_index:
                    continue
                known[concept_index[cid]] = True
                values[concept_index[cid]] = labs
            for cid in ds.get("absent", []):
                if cid in concept_index:
                    absent[concept_index[cid]] = True
            loaded = []
            for c in cases:
                try:
                    img, lab = packed[c["case_id"]] if pack is not None else load_case(c, self.net_input, cache_dir)
                except Exception as e:  # a broken file must not stop training; it is reported
                    log(f"skip {c['case_id']}: {e}")
                    continue
                maxlab = int(lab.max()) + 1
                lut = np.zeros((self.q, max(maxlab, 1)), bool)
                for qi, labs in values.items():
                    for v in labs:
                        if v < maxlab:
                            lut[qi, v] = True
                fg = {}
                for qi in values:
                    m = lut[qi][lab]
                    idx = np.flatnonzero(m)
                    if idx.size:
                        rng = np.random.default_rng(0)
                        fg[qi] = idx[rng.choice(idx.size, min(idx.size, 4000), replace=False)]
                loaded.append({"case": c, "image": img, "labels": lab, "lut": lut, "fg": fg})
            if loaded:
                self.datasets.append({"cfg": ds, "cases": loaded, "known": known, "absent": absent})
                log(f"{split}: {ds['name']}: {len(loaded)} cases")

    def all_cases(self):
        for d in self.datasets:
            for c in d["cases"]:
                yield d, c


# ---------------------------------------------------------------- augmentation helpers


def _rot(angles):
    ax, ay, az = angles
    rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
    ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
    rz = np.array([[math.cos(az), -math.sin(az), 0], [math.sin(az), math.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def gaussian_blur(x, sigma_zyx):
    """x [1, C, Z, Y, X]; separable Gaussian (sigma in voxels per axis)."""
    for ax, s in enumerate(sigma_zyx):
        if s < 0.3:
            continue
        r = int(math.ceil(2.5 * s))
        t = torch.arange(-r, r + 1, dtype=x.dtype)
        k = torch.exp(-0.5 * (t / s) ** 2)
        k = k / k.sum()
        shape = [1, 1, 1, 1, 1]
        shape[2 + ax] = k.numel()
        pad = [0, 0, 0, 0, 0, 0]
        pad[2 * (2 - ax)] = r
        pad[2 * (2 - ax) + 1] = r
        c = x.shape[1]
        x = Fn.conv3d(Fn.pad(x, pad, mode="replicate"), k.view(shape).repeat(c, 1, 1, 1, 1), groups=c)
    return x


def smooth_field(shape_zyx, coarse, rng, scale):
    f = torch.from_numpy(rng.normal(0, scale, (1, 1, coarse, coarse, coarse)).astype(np.float32))
    return Fn.interpolate(f, size=tuple(shape_zyx), mode="trilinear", align_corners=True)[0, 0]


# ---------------------------------------------------------------- sampler


class PatchSampler:
    def __init__(self, store: CaseStore, cfg, seed: int):
        self.store = store
        self.cfg = cfg
        self.rng = np.random.default_rng(seed)
        self.patch = list(reversed(cfg["train"]["patch_size"]))  # z, y, x
        self.spacing = np.array(list(reversed(cfg["input"]["spacing"])), float)  # z, y, x
        self.aug = cfg["train"].get("augment", {})
        # beyond the image's edge: the contract's background (a network takes one modality)
        self.background = pp.background_value(cfg["input"]["normalization"][cfg["modalities"][0]])
        self.last_dataset = None  # name of the data set the last sample came from (for reports)
        w = np.array([d["cfg"].get("weight", 1.0) for d in store.datasets], float)
        self.ds_p = w / w.sum()

    def sample_batch(self, batch_size):
        """(image [B, 1, Z, Y, X] float32, labels [B, Z, Y, X] int16, luts [B, Q, L] bool, known [B, Q],
        absent [B, Q]). Masks are expanded from labels and luts where the loss is computed
        (`expand_masks`): Q float masks per sample would be most of the work and of the transfer."""
        samples = [self.sample_one() for _ in range(batch_size)]
        width = max(s[2].shape[1] for s in samples)
        luts = np.zeros((batch_size, self.store.q, width), bool)
        for b, s in enumerate(samples):
            luts[b, :, : s[2].shape[1]] = s[2]
        return (torch.stack([s[0] for s in samples]), torch.stack([s[1] for s in samples]), torch.from_numpy(luts),
                torch.from_numpy(np.stack([s[3] for s in samples])), torch.from_numpy(np.stack([s[4] for s in samples])))

    def sample_one(self):
        rng = self.rng
        d = self.store.datasets[rng.choice(len(self.store.datasets), p=self.ds_p)]
        self.last_dataset = d["cfg"]["name"]
        c = d["cases"][rng.integers(len(d["cases"]))]
        lab = c["labels"]
        shape = np.array(lab.shape)
        fg_prob = d["cfg"].get("fg_prob", self.cfg["train"].get("fg_prob", 0.6))
        if c["fg"] and rng.random() < fg_prob:
            qi = list(c["fg"].keys())[rng.integers(len(c["fg"]))]
            flat = c["fg"][qi][rng.integers(len(c["fg"][qi]))]
            centre = np.array(np.unravel_index(flat, lab.shape), float)
            centre += rng.uniform(-0.3, 0.3, 3) * np.array(self.patch)
        else:
            centre = np.array([rng.uniform(0, s - 1) for s in shape])
        img_t, lab_t = self._spatial(c["image"], lab, centre, d["cfg"])
        if c["image"] is None:
            img_t = synthesize(lab_t, d["cfg"].get("synth", {}), c["case"]["synthetic"], rng, self.spacing,
                               self.cfg["input"]["normalization"].get("CT"))
        img_t = self._intensity(img_t, d["cfg"])
        labels = lab_t.clamp(0, c["lut"].shape[1] - 1).to(torch.int16)
        return img_t[None], labels, c["lut"], d["known"].copy(), d["absent"].copy()

    def _spatial(self, image, lab, centre, dcfg):
        rng = self.rng
        a = self.aug
        P = np.array(self.patch)
        sp = self.spacing
        p_sp = a.get("p_spatial", 0.7)
        do = rng.random() < p_sp
        rot_deg = np.array(a.get("rotation_deg_xyz", [15, 15, 15]), float)[::-1]  # z, y, x axes of rotation
        R = np.eye(3)
        S = np.ones(3)
        if do:
            ang = np.deg2rad(rng.uniform(-rot_deg, rot_deg))  # rotation about z, y, x (array axes)
            R = _rot(ang[::-1])[::-1, ::-1]  # rotation in (z, y, x) coordinates
            lo, hi = a.get("scale", [0.85, 1.2])
            S = np.full(3, rng.uniform(lo, hi)) * rng.uniform(0.95, 1.05, 3)
        # source region: patch extent (mm) rotated/scaled, in source voxels
        half_mm = (P - 1) / 2 * sp
        corners = np.array([[sz, sy, sx] for sz in (-1, 1) for sy in (-1, 1) for sx in (-1, 1)]) * half_mm
        src_mm = corners @ (R * S).T
        ext = np.abs(src_mm).max(0) / sp + 2
        ext = ext + (a.get("elastic_mm", 0) / sp if do else 0)
        R_size = np.ceil(2 * ext + 1).astype(int)
        start = np.round(centre - (R_size - 1) / 2).astype(int)
        region_lab = _crop(lab, start, R_size, 0)
        fill = dcfg.get("pad_value", self.background)
        region_img = None if image is None else _crop(image, start, R_size, fill)
        # output grid (mm, centred) -> region voxel coords
        zz, yy, xx = [np.arange(n) - (n - 1) / 2 for n in P]
        g = np.stack(np.meshgrid(zz, yy, xx, indexing="ij"), -1).reshape(-1, 3) * sp
        src = g @ (R * S).T
        if do and a.get("elastic_mm", 0) > 0 and rng.random() < a.get("p_elastic", 0.3):
            mag = a["elastic_mm"]
            for ax in range(3):
                src[:, ax] += smooth_field(P, 4, rng, mag / 2).numpy().reshape(-1)
        offs = centre - start  # region coords of the centre
        vox = src / sp + offs
        norm = 2 * vox / (R_size - 1) - 1
        grid = torch.from_numpy(norm[:, ::-1].copy().astype(np.float32)).view(1, *P, 3)  # x, y, z order
        lab_t = Fn.grid_sample(torch.from_numpy(region_lab.astype(np.float32))[None, None], grid, mode="nearest",
                               padding_mode="zeros", align_corners=True)[0, 0]
        img_t = None
        if region_img is not None:
            img_t = Fn.grid_sample(torch.from_numpy(region_img)[None, None] - fill, grid, mode="bilinear",
                                   padding_mode="zeros", align_corners=True)[0, 0] + fill
        if do and a.get("flip", False):
            for ax in range(3):
                if rng.random() < 0.5:
                    lab_t = lab_t.flip(ax)
                    img_t = None if img_t is None else img_t.flip(ax)
        return img_t, lab_t

    def _intensity(self, x, dcfg):
        rng = self.rng
        a = dict(self.aug.get("intensity", {}))
        a.update(dcfg.get("intensity", {}))
        if not a:
            return x
        x = x.clone()
        if rng.random() < a.get("p_blur", 0.15):
            s = rng.uniform(0.3, 1.2, 3)
            x = gaussian_blur(x[None, None], s)[0, 0]
        if rng.random() < a.get("p_lowres", 0.15):
            f = rng.uniform(1.0, 2.0)
            shp = x.shape
            small = Fn.interpolate(x[None, None], scale_factor=1 / f, mode="trilinear", align_corners=False)
            x = Fn.interpolate(small, size=shp, mode="trilinear", align_corners=False)[0, 0]
        if rng.random() < a.get("p_bias", 0.2):
            x = x * torch.exp(smooth_field(x.shape, 3, rng, 0.15))
        if rng.random() < a.get("p_noise", 0.15):
            x = x + torch.randn(x.shape, generator=torch.Generator().manual_seed(int(rng.integers(1 << 31)))) * rng.uniform(0, 0.1)
        if rng.random() < a.get("p_contrast", 0.2):
            m = x.mean()
            x = (x - m) * rng.uniform(0.75, 1.25) + m
        if rng.random() < a.get("p_gamma", 0.2):
            lo, hi = x.min(), x.max()
            r = (hi - lo).clamp_min(1e-6)
            x = ((x - lo) / r) ** float(np.exp(rng.uniform(-0.3, 0.3))) * r + lo
        return x


def _crop(arr, start, size, fill):
    out = np.full(tuple(size), fill, dtype=arr.dtype if arr.dtype != np.float64 else np.float32)
    src_lo = np.maximum(start, 0)
    src_hi = np.minimum(start + size, arr.shape)
    if np.any(src_hi <= src_lo):
        return out
    dst_lo = src_lo - start
    dst_hi = dst_lo + (src_hi - src_lo)
    out[dst_lo[0]:dst_hi[0], dst_lo[1]:dst_hi[1], dst_lo[2]:dst_hi[2]] = arr[
        src_lo[0]:src_hi[0], src_lo[1]:src_hi[1], src_lo[2]:src_hi[2]]
    return out


# ---------------------------------------------------------------- SynthSeg-style synthesis

# rough CT priors (HU mean range) by label name keywords; default soft tissue
CT_PRIORS = [
    (("air", "lung", "trachea", "airway", "background_air"), (-1000, -600)),
    (("fat", "subcutaneous"), (-120, -60)),
    (("bone", "vertebra", "rib", "skull", "mandible", "femur", "hip", "sacrum", "humerus", "scapula", "clavicula",
      "sternum", "cochlea"), (300, 1200)),
    (("liver", "spleen", "kidney", "pancreas", "muscle", "heart", "myocardium"), (30, 80)),
    (("aorta", "vein", "artery", "vena", "vessel"), (30, 250)),
    (("csf", "ventricle", "cyst", "bladder", "duct", "gallbladder"), (0, 20)),
    (("tumor", "tumour", "lesion", "cancer", "pdac"), (10, 90)),
]


# what a synthetic MR image is normalised with: the contract's MR normalisation
SYNTH_MR_NORMALIZATION = {"type": "percentile_zscore", "lower_percentile": 0.5, "upper_percentile": 99.5,
                          "nonzero_only": True}


def synthesize(lab_t, scfg, kind, rng, spacing_zyx, ct_normalization=None, normalise=True):
    """Image from a label patch: random intensity per label (Gaussian), blur, bias field, noise, resolution
    loss; normalised like the contract (MR: percentile z-score of nonzero voxels; CT: the network's
    `ct_normalization`, the ct_clip of its config). `normalise=False` keeps an MR image's raw intensities
    (a whole synthetic scan for the engine, which normalises it itself)."""
    lab = lab_t.long()
    labels = torch.unique(lab)
    n = int(labels.max()) + 1
    if kind == "ct":
        hu = scfg.get("hu", {})
        means = rng.uniform(-50, 90, n)
        stds = rng.uniform(5, 40, n)
        bg = scfg.get("background_hu", [-1000, -900])
        means[0] = rng.uniform(*bg)
        for k, v in hu.items():
            if int(k) < n:
                means[int(k)] = rng.uniform(*v)
        img = torch.from_numpy(means.astype(np.float32))[lab] + torch.from_numpy(stds.astype(np.float32))[lab] * \
            torch.randn(lab.shape, generator=torch.Generator().manual_seed(int(rng.integers(1 << 31))))
        img = gaussian_blur(img[None, None], rng.uniform(0.3, 1.0, 3))[0, 0]
        img = img + torch.randn(img.shape, generator=torch.Generator().manual_seed(int(rng.integers(1 << 31)))) * rng.uniform(0, 20)
        if ct_normalization is None:
            raise ValueError("a synthetic CT needs the network's CT normalisation (its config's input.normalization.CT)")
        return torch.from_numpy(pp.normalize(img.numpy(), ct_normalization))
    # MR-like
    means = rng.uniform(0, 1, n)
    stds = rng.uniform(0, 0.08, n)
    zero_bg = rng.random() < scfg.get("p_zero_background", 0.5)
    zero = [0]
    prior = scfg.get("contrast_prior")
    if prior and rng.random() < prior.get("p", 0.5):
        means, zero = _prior_means(means, prior, rng)
    if zero_bg:
        means[zero], stds[zero] = 0, 0
    img = torch.from_numpy(means.astype(np.float32))[lab] + torch.from_numpy(stds.astype(np.float32))[lab] * \
        torch.randn(lab.shape, generator=torch.Generator().manual_seed(int(rng.integers(1 << 31))))
    img = gaussian_blur(img[None, None], rng.uniform(0.2, 1.2, 3))[0, 0]
    img = img * torch.exp(smooth_field(img.shape, 4, rng, 0.2))
    if rng.random() < 0.3:
        f = rng.uniform(1.0, 2.5)
        small = Fn.interpolate(img[None, None], scale_factor=1 / f, mode="trilinear", align_corners=False)
        img = Fn.interpolate(small, size=img.shape, mode="trilinear", align_corners=False)[0, 0]
    img = img + torch.randn(img.shape, generator=torch.Generator().manual_seed(int(rng.integers(1 << 31)))) * rng.uniform(0, 0.05)
    img = img.clamp_min(0)
    if zero_bg:
        img = torch.where(torch.isin(lab, torch.as_tensor(zero)), torch.zeros_like(img), img)
    x = img.numpy()
    if not normalise:
        return img
    out = pp.normalize(x, SYNTH_MR_NORMALIZATION)
    return torch.from_numpy(out)


def check_contrast_prior(prior, where: str):
    """Refuses a malformed `contrast_prior` when the config is read, naming the field, rather than with
    a KeyError deep inside sampling."""
    def fail(problem):
        raise ValueError(f"{where}.contrast_prior: {problem}")

    if not isinstance(prior, dict):
        fail("must be an object with `p` and `groups`")
    p = prior.get("p", 0.5)
    if not isinstance(p, (int, float)) or not 0 <= p <= 1:
        fail(f"p is {p!r}; expected a probability between 0 and 1")
    groups = prior.get("groups")
    if not isinstance(groups, list) or not groups:
        fail("groups must be a non-empty list")
    for i, group in enumerate(groups):
        name = f"groups[{i}]" + (f" ({group.get('name')})" if isinstance(group, dict) and group.get("name") else "")
        if not isinstance(group, dict):
            fail(f"{name} must be an object with `labels` and `range`")
        labels = group.get("labels")
        if not isinstance(labels, list) or not labels or not all(isinstance(v, int) and v >= 0 for v in labels):
            fail(f"{name}.labels must be a non-empty list of label values (whole numbers, 0 or more)")
        value_range = group.get("range")
        if (not isinstance(value_range, list) or len(value_range) != 2
                or not all(isinstance(v, (int, float)) for v in value_range) or not value_range[0] <= value_range[1]):
            fail(f"{name}.range must be [low, high] with low <= high, got {value_range!r}")


def _prior_means(means, prior, rng):
    """Label means drawn from a contrast prior instead of uniformly: each listed label group's mean is
    uniform in its range (relative to the brightest tissue), so a sample has one plausible contrast (T1:
    white matter brightest, CSF darkest) while its exact values still vary. Returns the means and the
    labels that `p_zero_background` blacks out with the background: every label the prior does not list
    (skull, scalp, vessels...), which is what a skull-stripped scan shows. A whole group shares one draw
    (left and right white matter look alike in a real scan)."""
    means = means.copy()
    listed = []
    for group in prior["groups"]:
        value = rng.uniform(*group["range"])
        for label in group["labels"]:
            if label < len(means):
                means[label] = value
                listed.append(label)
    listed = set(listed)
    unlisted = [v for v in range(len(means)) if v not in listed]
    return means, unlisted


def expand_masks(labels, luts):
    """Float masks [B, Q, Z, Y, X] from labels [B, Z, Y, X] and per-sample concept luts [B, Q, L]."""
    return torch.stack([luts[b][:, labels[b].long()] for b in range(labels.shape[0])]).float()


class SampleStream(torch.utils.data.IterableDataset):
    """Endless batches from a PatchSampler, one sampler per DataLoader worker (seeded seed + worker id),
    so augmentation runs in parallel with the GPU's steps. With workers, a resumed run continues with
    new sampler seeds (same distribution, not the same sequence)."""

    def __init__(self, store: CaseStore, cfg, seed: int, batch_size: int):
        self.store, self.cfg, self.seed, self.batch_size = store, cfg, seed, batch_size

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        torch.set_num_threads(1)
        sampler = PatchSampler(self.store, self.cfg, self.seed + 7919 * worker)
        while True:
            yield sampler.sample_batch(self.batch_size)
