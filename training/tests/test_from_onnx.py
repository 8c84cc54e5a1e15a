"""from_onnx reads back the weights export wrote, and train.py can start from them with concepts added."""
import json
import os
import tempfile
import unittest

import numpy as np
import torch

from medparse_train.from_onnx import read_initializers, state_dict_from_onnx
from medparse_train.model import build_model
from medparse_train.train import load_initial_weights

CONFIG = {"model": {"channels": [4, 8, 8, 16], "strides": [[2, 2, 1], [2, 2, 2], [2, 2, 2]],
                    "feature_channels": 8, "embed_dim": 8}}


def export_tiny(path, concepts=3):
    torch.manual_seed(0)
    model = build_model(CONFIG, concepts).eval()
    # non-trivial norms and a zero bias shared by several layers (the exporter aliases equal tensors)
    for name, p in model.named_parameters():
        if name.endswith("norm1.weight"):
            p.data.uniform_(0.5, 1.5)
    image = torch.randn(1, 1, 16, 16, 16)
    ids = torch.arange(concepts)
    torch.onnx.export(model, (image, ids), path, opset_version=17, input_names=["image", "concept_ids"],
                      output_names=["logits", "presence"], do_constant_folding=True,
                      dynamic_axes={"image": {0: "B", 2: "Z", 3: "Y", 4: "X"}, "concept_ids": {0: "Q"}})
    return model, image, ids


class FromOnnxTest(unittest.TestCase):
    def test_every_parameter_comes_back_exactly(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "tiny.onnx")
            model, image, ids = export_tiny(path)
            expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
            weights = state_dict_from_onnx(path, expected)
        self.assertEqual(set(weights), set(expected))
        for k, v in model.state_dict().items():
            np.testing.assert_array_equal(weights[k], v.numpy(), err_msg=k)
        rebuilt = build_model(CONFIG, 3).eval()
        rebuilt.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        with torch.no_grad():
            a, b = model(image, ids), rebuilt(image, ids)
        self.assertEqual(float((a[0] - b[0]).abs().max()), 0.0)

    def test_a_network_with_more_concepts_keeps_the_old_rows_and_initialises_the_new(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "tiny.onnx")
            model, _, _ = export_tiny(path, concepts=3)
            grown = build_model(CONFIG, 5)
            expected = {k: tuple(v.shape) for k, v in grown.state_dict().items()}
            weights = state_dict_from_onnx(path, expected)
        fresh_rows = grown.embed.weight[3:].detach().clone()
        added = load_initial_weights(grown, {k: torch.from_numpy(v) for k, v in weights.items()})
        self.assertEqual(added, 2)
        torch.testing.assert_close(grown.embed.weight[:3], model.embed.weight)
        torch.testing.assert_close(grown.embed.weight[3:], fresh_rows)
        torch.testing.assert_close(grown.query[0].weight, model.query[0].weight)

    def test_a_file_of_another_architecture_is_refused_with_the_parameter_named(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "tiny.onnx")
            export_tiny(path)
            other = dict(CONFIG, model=dict(CONFIG["model"], feature_channels=16))
            expected = {k: tuple(v.shape) for k, v in build_model(other, 3).state_dict().items()}
            with self.assertRaises(SystemExit) as caught:
                state_dict_from_onnx(path, expected)
        self.assertIn("head.weight", str(caught.exception))

    def test_initializers_are_read_by_name(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "tiny.onnx")
            model, _, _ = export_tiny(path)
            tensors = read_initializers(path)
        np.testing.assert_array_equal(tensors["stem.0.weight"], model.stem[0].weight.detach().numpy())


if __name__ == "__main__":
    unittest.main()
