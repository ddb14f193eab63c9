"""Build the shipped oncology trial subset from the shared ClinicalTrials.gov corpus.

Usage: ``python -m inference.trials.build_subset --data ../shared/data [--no-embeddings]``

Keeps trials flagged oncology that have a title and eligibility criteria, cuts locations to ten,
and writes ``inference/trials/data/oncology_trials.jsonl.gz`` plus its embeddings.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from inference.trials.corpus import SUBSET_EMBEDDINGS_PATH, SUBSET_PATH, write_records
from inference.trials.records import iter_jsonl, trial_from_corpus_json
from inference.trials.retrieval import compute_embeddings, save_embeddings
from inference.trials.schema import TrialRecord

logger = logging.getLogger(__name__)
MAX_LOCATIONS = 10


def select_oncology(corpus: Path) -> tuple[list[TrialRecord], int]:
    """Read the corpus and keep oncology trials with a title and criteria.

    Args:
        corpus: ``ctgov-trials/trials.jsonl.gz``.

    Returns:
        The kept trials sorted by NCT id, and the number of unreadable lines (logged).
    """
    kept: list[TrialRecord] = []
    errors = 0
    for ref, obj in iter_jsonl(corpus):
        if not isinstance(obj, dict):
            logger.warning("%s", obj)
            errors += 1
            continue
        if not obj.get("oncology_heuristic"):
            continue
        try:
            trial = trial_from_corpus_json(obj, ref)
        except ValueError as exc:
            logger.warning("%s", exc)
            errors += 1
            continue
        if trial.title and trial.eligibility_text:
            kept.append(replace(trial, locations=trial.locations[:MAX_LOCATIONS]))
    kept.sort(key=lambda t: t.nct_id)
    return kept, errors


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=SUBSET_PATH)
    parser.add_argument("--embeddings", type=Path, default=SUBSET_EMBEDDINGS_PATH)
    parser.add_argument("--no-embeddings", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    corpus = args.data / "ctgov-trials" / "trials.jsonl.gz"
    if not corpus.exists():
        parser.error(f"{corpus} not found; pass --data pointing at the shared data folder")
    trials, errors = select_oncology(corpus)
    count = write_records(args.out, trials)
    logger.info(
        "wrote %d trials to %s (%d bytes, %d bad lines)",
        count,
        args.out,
        args.out.stat().st_size,
        errors,
    )
    if not args.no_embeddings:
        from inference.trials.embed import SentenceEmbedder

        embedder = SentenceEmbedder(max_tokens=128)
        save_embeddings(args.embeddings, compute_embeddings(trials, embedder.encode))
        logger.info("wrote embeddings to %s", args.embeddings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
