"""Unit tests of the training tools that need no data: run from training/ with

    /usr/bin/python3 -m unittest discover -s tests

(Debian's python3-torch; CI does not install torch, so these are not part of `npm test`.)"""
from __future__ import annotations

import os
import tempfile
import unittest

import numpy as np
import torch

from medparse_train.average import average
from medparse_train.data import _prior_means, check_contrast_prior, synthesize

PRIOR = {
    "p": 1.0,
    "groups": [
        {"name": "white matter", "labels": [2, 41], "range": [0.85, 1.0]},
        {"name": "CSF", "labels": [4, 43], "range": [0.1, 0.4]},
    ],
}


class AverageTest(unittest.TestCase):
    def _save(self, folder, name, **arrays):
        path = os.path.join(folder, name)
        np.savez(path, **arrays)
        return path

    def test_mean_of_floating_tensors_and_first_of_the_others(self):
        with tempfile.TemporaryDirectory() as d:
            a = self._save(d, "a.npz", w=np.array([1.0, 3.0], np.float32), steps=np.array([5]))
            b = self._save(d, "b.npz", w=np.array([3.0, 5.0], np.float32), steps=np.array([9]))
            out = average([a, b])
            np.testing.assert_array_equal(out["w"], np.array([2.0, 4.0], np.float32))
            self.assertEqual(out["w"].dtype, np.float32)
            np.testing.assert_array_equal(out["steps"], np.array([5]))

    def test_refuses_weight_sets_of_different_networks(self):
        with tempfile.TemporaryDirectory() as d:
            a = self._save(d, "a.npz", w=np.zeros(2, np.float32))
            other_names = self._save(d, "b.npz", v=np.zeros(2, np.float32))
            other_shape = self._save(d, "c.npz", w=np.zeros(3, np.float32))
            with self.assertRaisesRegex(SystemExit, "other tensors"):
                average([a, other_names])
            with self.assertRaisesRegex(SystemExit, "differs in shape"):
                average([a, other_shape])


class ContrastPriorTest(unittest.TestCase):
    def test_groups_share_one_draw_within_their_range_and_unlisted_labels_are_returned(self):
        rng = np.random.default_rng(0)
        base = np.full(50, -1.0)
        for _ in range(20):
            means, unlisted = _prior_means(base, PRIOR, rng)
            self.assertEqual(means[2], means[41], "left and right white matter look alike")
            self.assertTrue(0.85 <= means[2] <= 1.0)
            self.assertTrue(0.1 <= means[4] <= 0.4 and means[4] == means[43])
            self.assertEqual(means[3], -1.0, "an unlisted label keeps its uniform draw")
            self.assertIn(3, unlisted)
            self.assertNotIn(2, unlisted)
            self.assertIn(0, unlisted)
        self.assertTrue(np.all(base == -1.0), "the caller's means are not changed")

    def test_synthesised_t1_keeps_the_prior_order_and_blacks_out_unlisted_labels(self):
        lab = torch.zeros((24, 24, 24), dtype=torch.int16)
        lab[4:12] = 2  # white matter
        lab[12:20] = 4  # ventricle
        lab[20:, :12] = 3  # unlisted (cortex)
        cfg = {"contrast_prior": PRIOR, "p_zero_background": 1.0}
        for seed in range(5):
            img = synthesize(lab, cfg, "mr", np.random.default_rng(seed), np.ones(3))
            inner = (slice(6, 10), slice(4, 20), slice(4, 20))
            wm = float(img[inner].mean())
            csf = float(img[14:18, 4:20, 4:20].mean())
            self.assertGreater(wm, csf, f"seed {seed}: white matter brighter than CSF on a T1")
            # blacked out: exactly the contract's 0 of "nothing there" after the nonzero z-score
            self.assertEqual(float(img[0:2].abs().max()), 0.0, f"seed {seed}: background")
            self.assertEqual(float(img[21:, :10].abs().max()), 0.0, f"seed {seed}: a label the prior does not list")


class ContrastPriorCheckTest(unittest.TestCase):
    def test_accepts_the_shipped_config_and_a_well_formed_prior(self):
        from medparse_train.train import load_config

        cfg = load_config(os.path.join(os.path.dirname(__file__), "..", "configs", "brain_mr.json"))
        self.assertTrue(any("contrast_prior" in d.get("synth", {}) for d in cfg["datasets"]))
        check_contrast_prior(PRIOR, "test")

    def test_names_the_field_that_is_wrong(self):
        cases = [
            ({"p": 1.0, "groups": [{"name": "CSF", "labels": [4]}]}, r"groups\[0\] \(CSF\)\.range must be"),
            ({"p": 2.0, "groups": PRIOR["groups"]}, r"p is 2\.0"),
            ({"p": 1.0, "groups": []}, r"groups must be a non-empty list"),
            ({"p": 1.0, "groups": [{"labels": [], "range": [0, 1]}]}, r"groups\[0\]\.labels must be"),
            ({"p": 1.0, "groups": [{"labels": [2], "range": [0.9, 0.1]}]}, r"low <= high"),
        ]
        for prior, message in cases:
            with self.assertRaisesRegex(ValueError, r"^where\.contrast_prior: .*" + message):
                check_contrast_prior(prior, "where")


if __name__ == "__main__":
    unittest.main()


class HandOverTest(unittest.TestCase):
    def test_drops_the_rows_the_other_network_answers(self):
        from medparse_train.hand_over import hand_over

        manifest = {"networks": [
            {"id": "body-ct", "concepts": [{"id": "liver", "index": 1}, {"id": "mandible", "index": 25}]},
            {"id": "head-neck-ct", "concepts": [{"id": "mandible", "index": 25}]},
        ]}
        self.assertEqual(hand_over(manifest, "body-ct", "head-neck-ct"), ["mandible"])
        self.assertEqual(manifest["networks"][0]["concepts"], [{"id": "liver", "index": 1}])
        self.assertEqual(manifest["networks"][1]["concepts"], [{"id": "mandible", "index": 25}])

    def test_with_sides_drops_the_sided_rows_of_what_the_target_answers_unsided(self):
        from medparse_train.hand_over import hand_over, unsided_lookup

        manifest = {"networks": [
            {"id": "brain-mr", "concepts": [{"id": "hippocampus", "index": 2}, {"id": "hippocampus_left", "index": 21},
                                            {"id": "putamen_left", "index": 16}, {"id": "putamen_right", "index": 30},
                                            {"id": "brainstem", "index": 20}]},
            {"id": "brain-structures-mr", "concepts": [{"id": "putamen", "index": 7}, {"id": "brainstem", "index": 13}]},
        ]}
        sides = unsided_lookup()
        self.assertEqual(sides["putamen_left"], "putamen")
        self.assertEqual(hand_over(manifest, "brain-mr", "brain-structures-mr", sides),
                         ["putamen_left", "putamen_right", "brainstem"])
        self.assertEqual([c["id"] for c in manifest["networks"][0]["concepts"]], ["hippocampus", "hippocampus_left"])

    def test_only_limits_the_hand_over_to_the_named_concepts(self):
        from medparse_train.hand_over import hand_over

        manifest = {"networks": [
            {"id": "brain-structures-mr", "concepts": [{"id": "hippocampus", "index": 9}, {"id": "brainstem", "index": 13}]},
            {"id": "brain-mr", "concepts": [{"id": "hippocampus", "index": 2}, {"id": "brainstem", "index": 20}]},
        ]}
        self.assertEqual(hand_over(manifest, "brain-structures-mr", "brain-mr", only=["hippocampus"]), ["hippocampus"])
        self.assertEqual([c["id"] for c in manifest["networks"][0]["concepts"]], ["brainstem"])

    def test_names_a_missing_network(self):
        from medparse_train.hand_over import hand_over

        with self.assertRaises(SystemExit) as raised:
            hand_over({"networks": [{"id": "body-ct", "concepts": []}]}, "body-ct", "head-neck")
        self.assertIn("no network 'head-neck'", str(raised.exception))


class PackSelectionTest(unittest.TestCase):
    """`pack --train-only` packs no held-out case; by default validation's held-out cases are packed too."""

    def setUp(self):
        from unittest import mock

        from medparse_train import pack

        cases = {
            "a": [{"case_id": f"a{i}", "held_out": i % 5 == 0, "image": f"a{i}"} for i in range(10)],
            "b": [{"case_id": f"b{i}", "held_out": i % 5 == 0, "image": f"b{i}"} for i in range(5)],
        }
        patcher = mock.patch.object(pack, "list_cases", lambda name: cases[name])
        patcher.start()
        self.addCleanup(patcher.stop)
        self.pack = pack
        self.cfg = {"train": {"val_max_cases": 2}, "datasets": [{"name": "a"}, {"name": "b", "pack_max_cases": 3}]}

    def test_train_only_leaves_out_every_held_out_case(self):
        chosen = [c["case_id"] for _, c in self.pack.selected_cases(self.cfg, train_only=True)]
        self.assertEqual(chosen, ["a1", "a2", "a3", "a4", "a6", "a7", "a8", "a9", "b1", "b2", "b3"])

    def test_default_adds_the_held_out_cases_validation_reads(self):
        chosen = [c["case_id"] for _, c in self.pack.selected_cases(self.cfg)]
        self.assertEqual([c for c in chosen if c in ("a0", "a5", "b0")], ["a0", "a5"])
