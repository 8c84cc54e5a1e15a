"""Hand a network's rows over to another network of the package.

    /usr/bin/python3 -m medparse_train.hand_over --model ../models/medparse-default --from body-ct --to head-neck-ct

export.py writes a network's model.json entry with every concept of its config. Where another network of
the package answers some of those concepts (0.5.0: 0.4.3's body-ct, kept as head-neck-ct, answers the
head-and-neck rows because the soft-tissue window cost the new body-ct the mandible), the re-exported
network's entries for them are dropped, so that one network answers each concept of a modality. The
rows stay in the ONNX file; only the manifest stops offering them.
"""
from __future__ import annotations

import argparse
import json
import os


def hand_over(manifest: dict, source: str, target: str) -> list[str]:
    """Drops `source`'s entries for the concepts `target` answers; returns the ids dropped."""
    networks = {n["id"]: n for n in manifest["networks"]}
    for net in (source, target):
        if net not in networks:
            raise SystemExit(f"model.json has no network {net!r} (it has {', '.join(networks)})")
    answered = {c["id"] for c in networks[target]["concepts"]}
    kept = [c for c in networks[source]["concepts"] if c["id"] not in answered]
    dropped = [c["id"] for c in networks[source]["concepts"] if c["id"] in answered]
    networks[source]["concepts"] = kept
    return dropped


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model package folder (its model.json is rewritten)")
    ap.add_argument("--from", dest="source", required=True, help="network whose entries are dropped")
    ap.add_argument("--to", dest="target", required=True, help="network that answers those concepts")
    a = ap.parse_args(argv)
    path = os.path.join(a.model, "model.json")
    with open(path) as f:
        manifest = json.load(f)
    dropped = hand_over(manifest, a.source, a.target)
    with open(path, "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps({"model": path, "from": a.source, "to": a.target, "dropped": dropped}))


if __name__ == "__main__":
    main()
