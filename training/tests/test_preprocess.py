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
