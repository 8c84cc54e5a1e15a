"""The slice-stack rule of the contract (docs/model-contract.md, input.slice_axis), as the engine has it."""
import unittest

import numpy as np

from medparse_train import preprocess as pp


def oblique_stack_affine():
    """Voxel axis 0 is 8 mm thick and lies nearest world x (R); axes 1, 2 (1.4 mm) lie nearest A and S."""
    slice_dir = np.array([0.8, 0.0, -0.6])
    in_plane = np.array([0.6, 0.0, 0.8])
    affine = np.eye(4)
    affine[:3, 0] = 8.0 * slice_dir
    affine[:3, 1] = 1.4 * np.array([0.0, 1.0, 0.0])
    affine[:3, 2] = 1.4 * in_plane
    return affine


class SliceStackTest(unittest.TestCase):
    def test_the_thick_axis_becomes_z_and_trades_places_with_the_axis_that_was(self):
        affine = oblique_stack_affine()
        self.assertEqual(pp.axis_mapping(affine), ([0, 1, 2], [1, 1, 1]))
        world, sign = pp.slice_stack_mapping(affine, (8.0, 1.4, 1.4))
        self.assertEqual(world, [2, 1, 0])
        self.assertEqual(sign, [-1, 1, 1])  # the slice axis points inferior; the in-plane one right

    def test_reoriented_stack_has_its_slices_along_z(self):
        data = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
        out, _, spacing = pp.reorient_to_ras(data, oblique_stack_affine(), (8.0, 1.4, 1.4), "thickest")
        self.assertEqual(out.shape, (5, 4, 3))
        self.assertEqual(spacing, [1.4, 1.4, 8.0])
        np.testing.assert_array_equal(out, np.flip(np.transpose(data, (2, 1, 0)), axis=2))

    def test_no_clear_slice_axis_keeps_the_nearest_mapping(self):
        affine = oblique_stack_affine()
        self.assertEqual(pp.slice_stack_mapping(affine, (2.0, 1.4, 1.4)), pp.axis_mapping(affine))

    def test_an_unknown_rule_is_refused(self):
        with self.assertRaises(ValueError):
            pp.reorient_to_ras(np.zeros((2, 2, 2)), np.eye(4), (1, 1, 1), "widest")


if __name__ == "__main__":
    unittest.main()


class SoftTissueWindowTest(unittest.TestCase):
    """body-ct's input (configs/body_ct.json) is the window btcv_ct_half was stored in, so an 8-bit BTCV
    image and a real HU scan of the same tissue give the network the same values."""

    def setUp(self):
        import json
        import os

        with open(os.path.join(os.path.dirname(__file__), "..", "configs", "body_ct.json")) as f:
            self.spec = json.load(f)["input"]["normalization"]["CT"]

    def test_an_8_bit_windowed_image_and_real_hu_coincide_after_normalisation(self):
        from medparse_train.datasets import BTCV_TO_HU

        hu = np.linspace(-1100, 1500, 5000).astype(np.float32)
        stored = np.clip(np.rint((hu + 125) * 255 / 400), 0, 255).astype(np.uint8)  # how BTCV was written
        from_btcv = pp.normalize(pp.window_to_hu(stored, BTCV_TO_HU), self.spec)
        from_hu = pp.normalize(hu, self.spec)
        step = 400 / 255 / self.spec["std"]  # one 8-bit level, normalised
        self.assertLessEqual(float(np.abs(from_btcv - from_hu).max()), step / 2 + 1e-6)

    def test_the_window_ends_are_air_and_bone_and_map_to_plus_minus_one(self):
        out = pp.normalize(np.array([-1000, -125, 75, 275, 1200], np.float32), self.spec)
        np.testing.assert_allclose(out, [-1, -1, 0, 1, 1], atol=1e-6)
        self.assertEqual(pp.background_value(self.spec), -1.0)
