"""Dataset registry: where each data set lives under ../shared/data, how cases are split, and how
its labels map to concept ids.

Held-out rule (fixed, documented in training/README.md and written to training/splits.json):
- a case is held out when its patient number (the integer in its patient id) is divisible by 5;
- BraTS 2015 keeps the data set's own `validation/` folder as held out;
- sets with a single subject (TotalSegmentator example CT/MR, FreeSurfer subject, spinal cord subject)
  cannot be split and are training-only; they are never reported as validation.
Every frame/sequence of a held-out patient is held out (split by patient, never by volume).
"""
from __future__ import annotations

import glob
import json
import os
import re

DATA_ROOT_DEFAULT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))


# btcv_ct_half stores a fixed 8-bit window of the HU scale (its README): HU = v * 400 / 255 - 125
BTCV_TO_HU = [400.0 / 255.0, -125.0]


def data_root() -> str:
    return os.environ.get("MEDPARSE_DATA", DATA_ROOT_DEFAULT)


def _num(s: str) -> int:
    m = re.findall(r"\d+", s)
    return int(m[-1]) if m else 0


def held_out_by_number(patient: str) -> bool:
    return _num(patient) % 5 == 0


def _case(dataset, patient, image, labels, modality, held_out, synthetic=None, label_order="nifti"):
    return {
        "dataset": dataset,
        "patient": patient,
        "case_id": f"{dataset}/{os.path.basename(image or labels).split('.')[0]}",
        "image": image,
        "labels": labels,
        "modality": modality,
        "held_out": held_out,
        "synthetic": synthetic,
        "image_to_hu": None,  # [scale, offset] for images stored as a window of HU (8-bit BTCV), else None
    }


def list_cases(name: str):
    root = data_root()
    out = []
    if name == "acdc":
        for pdir in sorted(glob.glob(os.path.join(root, "acdc", "patient*"))):
            patient = os.path.basename(pdir)
            for gt in sorted(glob.glob(os.path.join(pdir, "*_frame*_gt.nii.gz"))):
                out.append(_case(name, patient, gt.replace("_gt", ""), gt, "MR", held_out_by_number(patient)))
    elif name == "msd_hippocampus":
        for lab in sorted(glob.glob(os.path.join(root, "hippocampus", "labels", "*.nii.gz"))):
            patient = os.path.basename(lab).split(".")[0]
            img = os.path.join(root, "hippocampus", "images", os.path.basename(lab))
            out.append(_case(name, patient, img, lab, "MR", held_out_by_number(patient)))
    elif name in ("brats2015_flair", "brats2015_t1c"):
        seq = "Flair" if name.endswith("flair") else "T1c"
        for split in ("train", "validation"):
            for pdir in sorted(glob.glob(os.path.join(root, "brats2015", split, "*"))):
                patient = os.path.basename(pdir)
                c = _case(name, patient, os.path.join(pdir, f"{seq}_subtrMeanDivStd.nii.gz"),
                          os.path.join(pdir, "OTMultiClass.nii.gz"), "MR", split == "validation")
                c["case_id"] = f"{name}/{patient}"
                out.append(c)
    elif name == "brats2024_t1c":
        # one post-treatment glioma (BraTS 2024 GLI 0017, T1c, 8-bit); a single subject: training-only
        d = os.path.join(root, "brats2024_t1c")
        out.append(_case(name, "brats_gli_0017", os.path.join(d, "brats_gli_0017_t1c_img.nii.gz"),
                         os.path.join(d, "brats_gli_0017_t1c_label.nii.gz"), "MR", False))
    elif name == "synthseg":
        for lab in sorted(glob.glob(os.path.join(root, "synthseg", "training_seg_*.nii.gz"))):
            patient = os.path.basename(lab).split(".")[0]
            out.append(_case(name, patient, None, lab, "MR", held_out_by_number(patient), synthetic="mr"))
    elif name == "synthseg_ct":
        for lab in sorted(glob.glob(os.path.join(root, "synthseg", "training_seg_*.nii.gz"))):
            patient = os.path.basename(lab).split(".")[0]
            out.append(_case(name, patient, None, lab, "CT", held_out_by_number(patient), synthetic="ct"))
    elif name == "openkbp":
        for ct in sorted(glob.glob(os.path.join(root, "openkbp", "pt_*_ct.nii.gz"))):
            patient = os.path.basename(ct).replace("_ct.nii.gz", "")
            out.append(_case(name, patient, ct, ct.replace("_ct.", "_oars."), "CT", held_out_by_number(patient)))
    elif name == "totalseg_ct":
        d = os.path.join(root, "totalsegmentator", "ct")
        out.append(_case(name, "example_ct", os.path.join(d, "example_ct.nii.gz"),
                         os.path.join(d, "example_seg_fast_force_split.nii.gz"), "CT", False))
    elif name == "totalseg_ct_synth":
        d = os.path.join(root, "totalsegmentator", "ct")
        out.append(_case(name, "example_ct", None, os.path.join(d, "example_seg_fast_force_split.nii.gz"), "CT",
                         False, synthetic="ct"))
    elif name in ("btcv_ct_half", "mscmr_bssfp", "chaos_mr"):
        # <prefix>_NN_img.nii.gz with <prefix>_NN_label.nii.gz; NN is the patient number (one scan each)
        modality = "CT" if name.startswith("btcv") else "MR"
        for img in sorted(glob.glob(os.path.join(root, name, "*_img.nii.gz"))):
            patient = os.path.basename(img).replace("_img.nii.gz", "")
            c = _case(name, patient, img, img.replace("_img.", "_label."), modality, held_out_by_number(patient))
            if name == "btcv_ct_half":
                c["image_to_hu"] = BTCV_TO_HU
            out.append(c)
    elif name in ("kits19", "kits23", "panorama_pancreas", "uls23_lesions", "msd_prostate"):
        for lab in sorted(glob.glob(os.path.join(root, "labels-only", name, "**", "*.nii*"), recursive=True)):
            patient = os.path.basename(lab).split(".")[0]
            if name == "panorama_pancreas":
                patient = patient.split("_")[0]  # <patient>_<study>
            elif name == "uls23_lesions":
                patient = os.path.basename(os.path.dirname(lab)) + "/" + re.sub(r"(_lesion_\d+)?(_sample_\d+)?$", "", patient)
            kind = "mr" if name == "msd_prostate" else "ct"
            out.append(_case(name, patient, None, lab, kind.upper(), held_out_by_number(patient), synthetic=kind))
    else:
        raise ValueError(f"unknown dataset {name}")
    return out


def load_dataset_labels(repo_root: str):
    p = os.path.join(repo_root, "data", "dataset-labels.json")
    with open(p) as f:
        return json.load(f)["datasets"]


def write_splits(path: str, names):
    splits = {
        "rule": "held out when the integer in the patient id is divisible by 5 (all frames/sequences of that patient); "
        "BraTS 2015: the data set's validation/ folder; single-subject sets are training-only",
        "data_root": "../shared/data",
        "datasets": {},
    }
    for n in names:
        cases = list_cases(n)
        root = data_root()
        rel = lambda p: None if p is None else os.path.relpath(p, root)
        entry = splits["datasets"][n] = {
            "held_out": [{"patient": c["patient"], "image": rel(c["image"]), "labels": rel(c["labels"])}
                         for c in cases if c["held_out"]],
            "train_patients": sorted({c["patient"] for c in cases if not c["held_out"]}),
        }
        to_hu = {tuple(c["image_to_hu"]) for c in cases if c.get("image_to_hu")}
        if to_hu:
            # eval and calibrate (scripts/) read the images through the engine, which takes HU: they map first
            entry["image_to_hu"] = list(to_hu.pop())
    with open(path, "w") as f:
        json.dump(splits, f, indent=1)
