"""Recover a network's training weights from its exported ONNX file.

    /usr/bin/python3 -m medparse_train.from_onnx --config configs/body_ct.json \
        --onnx ../models/medparse-default/body_ct.onnx --out checkpoints/body-ct/from_0.4.3_weights.npz

The model package ships only the ONNX networks; a training run's checkpoints stay on the machine that
trained them. `export.py` keeps the PyTorch parameter names on the ONNX initializers (constant folding
does not touch weights, since every weight is applied to a graph input), so the state dict can be read
back. Two things differ from a plain name lookup:
- the exporter stores identical tensors once and aliases the others through `Identity` nodes (all
  InstanceNorm biases that were still zero, for example): the aliases are followed;
- the network may now have more concept rows than the file (concepts added to the config since, at the
  end of its list): those rows are left out here and `train.py --init-weights` keeps them initialised.

The ONNX protobuf is read directly (a dozen lines of wire format), so no `onnx` Python package is needed.
`--check` runs the rebuilt network on the export parity fixture (training/fixtures/onnx/<network>*.bin,
the torch outputs saved when the file was exported) and prints the largest difference.
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np

# onnx.TensorProto.DataType values this reader accepts
_FLOAT, _INT64, _DOUBLE = 1, 7, 11
_NUMPY = {_FLOAT: "<f4", _INT64: "<i8", _DOUBLE: "<f8"}


def _varint(buf: bytes, i: int):
    value, shift = 0, 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(buf: bytes):
    """(field number, wire type, value) of one protobuf message; value is an int or a bytes slice."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            length, i = _varint(buf, i)
            value, i = buf[i:i + length], i + length
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def _packed_varints(value, wire):
    if wire == 0:
        return [value]
    out, j = [], 0
    while j < len(value):
        v, j = _varint(value, j)
        out.append(v)
    return out


def _tensor(buf: bytes):
    """(name, numpy array) of an onnx.TensorProto (raw_data or float_data / int64_data)."""
    name, dims, dtype, raw, floats, ints = None, [], _FLOAT, None, [], []
    for field, wire, value in _fields(buf):
        if field == 1:
            dims.extend(_packed_varints(value, wire))
        elif field == 2:
            dtype = value
        elif field == 4:  # float_data (packed fixed32)
            floats.append(np.frombuffer(value, "<f4"))
        elif field == 7:
            ints.extend(_packed_varints(value, wire))
        elif field == 8:
            name = value.decode()
        elif field == 9:
            raw = value
    if dtype not in _NUMPY:
        raise ValueError(f"initializer {name}: data type {dtype} is not supported")
    if raw is not None:
        arr = np.frombuffer(raw, _NUMPY[dtype])
    elif floats:
        arr = np.concatenate(floats)
    else:
        arr = np.asarray(ints, _NUMPY[dtype])
    count = int(np.prod(dims)) if dims else 1
    if arr.size != count:
        raise ValueError(f"initializer {name}: {arr.size} values for shape {dims}")
    return name, arr.reshape(dims).astype(np.float32 if dtype != _INT64 else np.int64)


def read_initializers(path: str) -> dict:
    """Initializers of an ONNX model by name, with Identity aliases resolved to their source."""
    with open(path, "rb") as f:
        model = f.read()
    graphs = [value for field, _, value in _fields(model) if field == 7]
    if len(graphs) != 1:
        raise ValueError(f"{path}: expected one graph, found {len(graphs)}")
    tensors, identities = {}, []
    for field, _, value in _fields(graphs[0]):
        if field == 5:
            name, arr = _tensor(value)
            tensors[name] = arr
        elif field == 1:
            node = {"in": [], "out": [], "op": None}
            for nf, _, nv in _fields(value):
                if nf == 1:
                    node["in"].append(nv.decode())
                elif nf == 2:
                    node["out"].append(nv.decode())
                elif nf == 4:
                    node["op"] = nv.decode()
            if node["op"] == "Identity" and len(node["in"]) == 1 and len(node["out"]) == 1:
                identities.append((node["in"][0], node["out"][0]))
    for source, alias in identities:
        if source in tensors and alias not in tensors:
            tensors[alias] = tensors[source]
    return tensors


def state_dict_from_onnx(path: str, expected: dict) -> dict:
    """Arrays for every key of `expected` (name -> shape). Concept tables (first axis = concept rows) may be
    shorter in the file than expected; any other difference is an error naming the parameter."""
    tensors = read_initializers(path)
    out, problems = {}, []
    for key, shape in expected.items():
        if key not in tensors:
            problems.append(f"{key}: not in the file")
            continue
        arr = tensors[key]
        if tuple(arr.shape) != tuple(shape):
            grown = key == "embed.weight" and arr.ndim == 2 and arr.shape[1] == shape[1] and arr.shape[0] < shape[0]
            if not grown:
                problems.append(f"{key}: shape {list(arr.shape)} in the file, {list(shape)} in the network")
                continue
        out[key] = np.ascontiguousarray(arr, dtype=np.float32)
    if problems:
        raise SystemExit(f"{path} does not match the config's network:\n  " + "\n  ".join(problems))
    return out


def check_against_fixture(cfg: dict, weights_path: str, fixture_dir: str):
    """Max abs difference between the rebuilt torch network and the torch outputs stored at export."""
    import torch

    from .export import load_weights
    from .model import build_model

    meta_path = os.path.join(fixture_dir, cfg["network_id"] + ".json")
    with open(meta_path) as f:
        meta = json.load(f)
    base = os.path.join(fixture_dir, cfg["network_id"])
    image = np.fromfile(base + "_image.bin", "<f4").reshape(meta["image_shape"])
    logits_ref = np.fromfile(base + "_logits.bin", "<f4").reshape(meta["logits_shape"])
    presence_ref = np.fromfile(base + "_presence.bin", "<f4").reshape(meta["presence_shape"])
    weights = load_weights(weights_path)
    rows = weights["embed.weight"].shape[0]
    model = build_model(cfg, rows)
    model.load_state_dict(weights)
    model.eval()
    with torch.no_grad():
        logits, presence = model(torch.from_numpy(image), torch.tensor(meta["concept_ids"], dtype=torch.long))
    return (float(np.abs(logits.numpy() - logits_ref).max()), float(np.abs(presence.numpy() - presence_ref).max()),
            float(np.abs(logits_ref).max()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--onnx", required=True, help="the network's .onnx file (as export.py wrote it)")
    ap.add_argument("--out", required=True, help="weights file to write (.npz, as train.py's *_weights.npz)")
    ap.add_argument("--check", metavar="FIXTURE_DIR",
                    help="compare the rebuilt network with the export parity fixture in this folder")
    a = ap.parse_args(argv)
    import torch

    from .model import build_model

    with open(a.config) as f:
        cfg = json.load(f)
    if not os.path.exists(a.onnx):
        raise SystemExit(f"no file {a.onnx}")
    torch.set_num_threads(2)
    expected = {k: tuple(v.shape) for k, v in build_model(cfg, len(cfg["concepts"])).state_dict().items()}
    weights = state_dict_from_onnx(a.onnx, expected)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    np.savez(a.out, **weights)
    report = {"out": a.out, "tensors": len(weights), "concept_rows": int(weights["embed.weight"].shape[0]),
              "config_concepts": len(cfg["concepts"])}
    if a.check:
        dl, dp, scale = check_against_fixture(cfg, a.out, a.check)
        report.update({"max_abs_diff_logits": dl, "max_abs_diff_presence": dp, "logits_max_abs": scale})
    print(json.dumps(report))


if __name__ == "__main__":
    main()
