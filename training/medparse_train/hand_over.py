"""Hand a network's rows over to another network of the package.

    /usr/bin/python3 -m medparse_train.hand_over --model ../models/medparse-default --from body-ct --to head-neck-ct

export.py writes a network's model.json entry with every concept of its config. Where another network of
the package answers some of those concepts (0.5.0: 0.4.3's body-ct, kept as head-neck-ct, answers the
head-and-neck rows because the soft-tissue window cost the new body-ct the mandible), the re-exported
network's entries for them are dropped, so that one network answers each concept of a modality. The
rows stay in the ONNX file; only the manifest stops offering them.

`--with-sides` also drops the source's sided rows of what the target answers unsided (0.6.0: brain-mr's
"left putamen", once brain-structures-mr answers "putamen"; the engine answers the side from the whole's
mask split at the midline). The sides are read from the vocabulary (data/vocabulary.json).
"""
from __future__ import annotations

import argparse
import json
import os


def hand_over(manifest: dict, source: str, target: str, unsided_of: dict[str, str] | None = None,
              only: list[str] | None = None) -> list[str]:
    """Drops `source`'s entries for the concepts `target` answers and, given `unsided_of` (a sided concept's
    unsided whole), for the sides of those; `only` limits it to those concept ids. Returns the ids dropped."""
    networks = {n["id"]: n for n in manifest["networks"]}
    for net in (source, target):
        if net not in networks:
            raise SystemExit(f"model.json has no network {net!r} (it has {', '.join(networks)})")
    answered = {c["id"] for c in networks[target]["concepts"]}
    sides = unsided_of or {}

    def handed(concept_id: str) -> bool:
        if only is not None and concept_id not in only:
            return False
        return concept_id in answered or sides.get(concept_id) in answered

    kept = [c for c in networks[source]["concepts"] if not handed(c["id"])]
    dropped = [c["id"] for c in networks[source]["concepts"] if handed(c["id"])]
    networks[source]["concepts"] = kept
    return dropped


def unsided_lookup() -> dict[str, str]:
    """Sided concept id -> its unsided whole, from the project's vocabulary."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "data", "vocabulary.json")
    with open(path) as f:
        concepts = json.load(f)["concepts"]
    return {c["id"]: c["unsided"] for c in concepts if c.get("unsided")}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model package folder (its model.json is rewritten)")
    ap.add_argument("--from", dest="source", required=True, help="network whose entries are dropped")
    ap.add_argument("--to", dest="target", required=True, help="network that answers those concepts")
    ap.add_argument("--with-sides", action="store_true",
                    help="also drop the source's sided rows of concepts the target answers unsided")
    ap.add_argument("--only", help="comma-separated concept ids: hand over these only")
    a = ap.parse_args(argv)
    path = os.path.join(a.model, "model.json")
    with open(path) as f:
        manifest = json.load(f)
    dropped = hand_over(manifest, a.source, a.target, unsided_lookup() if a.with_sides else None,
                        a.only.split(",") if a.only else None)
    with open(path, "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps({"model": path, "from": a.source, "to": a.target, "dropped": dropped}))


if __name__ == "__main__":
    main()
