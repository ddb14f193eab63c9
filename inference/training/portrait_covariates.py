"""Which vocabulary fields each portrait cancer type was trained with (``covariates.json``).

A field counts for a type when at least one of the type's cohorts records it for most patients.
The page uses the list to say which fields the case lacks that its type's model was trained on
("grade would sharpen this estimate"), as opposed to fields the type's cohorts never recorded
(the model only knows them through the weights shared across types).

    python -m inference.training.portrait_covariates [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inference.portrait.vocabulary import FEATURE_NAMES
from inference.training.portrait_cohorts import COHORTS, load_all

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "inference" / "weights" / "portrait" / "covariates.json"
#: Share of a cohort's patients that must have the field for it to count as recorded.
MIN_OBSERVED = 0.5


def covariates_by_type(data: Path) -> dict[str, list[str]]:
    """Cancer type -> vocabulary fields (model order) recorded by one of its cohorts."""
    frame = load_all(data, tuple(COHORTS))
    out: dict[str, list[str]] = {}
    for cancer_type, rows in frame.groupby("cancer_type"):
        recorded: set[str] = set()
        for _cohort, cohort_rows in rows.groupby("cohort"):
            for name in FEATURE_NAMES:
                if name in cohort_rows and cohort_rows[name].notna().mean() >= MIN_OBSERVED:
                    recorded.add(name)
        out[str(cancer_type)] = [name for name in FEATURE_NAMES if name in recorded]
    return dict(sorted(out.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args(argv)
    OUT.write_text(json.dumps(covariates_by_type(args.data), indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {OUT.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
