"""The dataset registry's split and label contracts that need no image data: run from training/ with

    /usr/bin/python3 -m unittest discover -s tests
"""
from __future__ import annotations

import json
import os
import unittest
from unittest import mock

from medparse_train.datasets import list_cases

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "configs")


class Brats2024Test(unittest.TestCase):
    def test_the_single_case_is_training_only(self):
        with mock.patch.dict(os.environ, {"MEDPARSE_DATA": "/nonexistent"}):
            cases = list_cases("brats2024_t1c")
        self.assertEqual(len(cases), 1)
        self.assertFalse(cases[0]["held_out"])
        self.assertTrue(cases[0]["labels"].endswith("brats_gli_0017_t1c_label.nii.gz"))

    def test_resection_cavity_is_never_taught_as_tumour(self):
        with open(os.path.join(CONFIGS, "brain_mr.json")) as f:
            config = json.load(f)
        (brats2024,) = [d for d in config["datasets"] if d["name"] == "brats2024_t1c"]
        for concept, labels in brats2024["concepts"].items():
            self.assertNotIn(4, labels, concept)
        # necrosis and non-enhancing tumour are one label in BraTS 2024: neither may be taught from it
        self.assertNotIn("brain_tumor_necrosis", brats2024["concepts"])
        self.assertNotIn("brain_tumor_non_enhancing", brats2024["concepts"])


if __name__ == "__main__":
    unittest.main()
