"""Multinomial logistic regression over :mod:`.features`: fit, save, load (sha256-pinned), predict.

Plain numpy, full-batch gradient descent from zeros, so a fit is deterministic for the same data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.runtime import sha256_of
from inference.trials.verdicts.features import FEATURES

LABELS: tuple[str, ...] = ("met", "not_met", "unknown", "not_applicable")


#: A sentence "covers" a criterion when it holds at least half its content words and is similar.
RULE_OVERLAP = 0.5
RULE_SIMILARITY = 0.4


@dataclass(frozen=True)
class Decision:
    """One verdict: label, the classifier's probability of it, abstained, and the rule used."""

    label: str
    probability: float
    abstained: bool
    rule: str = ""


def context_rule(f: dict[str, float]) -> tuple[str, str] | None:
    """The ConText rule's verdict for one feature row, or None to leave it to the classifier."""
    covers = f["lex_best"] >= RULE_OVERLAP and f["sim_max"] >= RULE_SIMILARITY
    # Numbers and time windows ("within 3 months", "GCS = 3") are not checked by word overlap.
    checks_values = f["criterion_numeric"] or f["criterion_time_window"]
    if not covers or checks_values or f["evidence_family"] or f["evidence_hypothetical"]:
        return None
    # The sentence contradicts the criterion when exactly one of them is negated ("no heart
    # failure" and "denies heart failure" agree).
    contradicts = bool(f["evidence_negated"]) != bool(f["criterion_negative"])
    if f["inclusion"] and contradicts:
        return "not_met", "the sentence negates what the criterion requires"
    if not f["inclusion"] and not contradicts:
        return "met", "the sentence affirms the excluding condition"
    return None


# A criterion about the family ("BRCA mutation in the family", "first-degree relative with colon
# cancer") may be decided from a sentence about a relative; any other may not.
_FAMILY_CRITERION_RE = re.compile(
    r"\bfamil(?:y|ial)\b|\brelatives?\b|\bkindred\b|\bfirst[- ]degree\b|\bmother\b|"
    r"\bfather\b|\bsister\b|\bbrother\b|\bsiblings?\b",
    re.I,
)
ABOUT_A_RELATIVE = "the closest sentence is about a family member, not the patient"


def about_a_relative(f: dict[str, float], criterion: str) -> bool:
    """The evidence sentence speaks of a relative and the criterion is about the patient."""
    return bool(f["evidence_family"]) and not _FAMILY_CRITERION_RE.search(criterion)


# A carcinoma in situ and an invasive carcinoma share most of their words ("ductal carcinoma"),
# so the sentence closest to a DCIS criterion is often the invasive diagnosis, and the reverse.
_IN_SITU_RE = re.compile(r"\bin[- ]situ\b|\b(?:DCIS|LCIS)\b", re.I)
_INVASIVE_RE = re.compile(r"\binvasive\b|\binfiltrating\b|\bIDC\b|\bILC\b", re.I)
OTHER_BEHAVIOUR = (
    "the closest sentence describes an invasive tumour where the criterion asks for an in-situ "
    "one, or the reverse"
)


def other_behaviour(criterion: str, sentence: str) -> bool:
    """The criterion asks for an in-situ (or invasive) tumour and the sentence names only the
    other kind: "ductal carcinoma in situ" is not affirmed by "invasive ductal carcinoma"."""
    wants_in_situ = bool(_IN_SITU_RE.search(criterion))
    wants_invasive = bool(_INVASIVE_RE.search(criterion))
    says_in_situ = bool(_IN_SITU_RE.search(sentence))
    says_invasive = bool(_INVASIVE_RE.search(sentence))
    if wants_in_situ and not wants_invasive:
        return says_invasive and not says_in_situ
    if wants_invasive and not wants_in_situ:
        return says_in_situ and not says_invasive
    return False


@dataclass(frozen=True)
class VerdictModel:
    """Weights (F, C), bias (C), feature standardisation and the abstention threshold."""

    version: str
    weights: np.ndarray
    bias: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    threshold: float
    features: tuple[str, ...] = FEATURES
    labels: tuple[str, ...] = LABELS

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (N, C) for feature rows ``x`` (N, F)."""
        z = ((np.atleast_2d(x) - self.mean) / self.scale) @ self.weights + self.bias
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def decide(
        self,
        x: np.ndarray,
        rules: bool = True,
        criteria: Sequence[str] | None = None,
        evidence: Sequence[str] | None = None,
    ) -> list[Decision]:
        """One decision per feature row: the classifier's, or a ConText rule's (see ``rule``).

        The classifier abstains (unknown) below :attr:`threshold`. The training labels hold
        almost no excluded patients (7 of 530 exclusions), so the classifier alone would call a
        plainly affirmed excluding condition "not met"; a sentence that covers the criterion
        well, is about the patient and is not hypothetical therefore decides by its polarity.
        With ``criteria`` (the rows' criterion texts), a "met" drawn from a sentence about a
        relative abstains unless the criterion is about the family: what a sister carries says
        nothing of whether the patient carries it (ConText's family context). A "not met" may
        stand: a note that speaks only of a relative's disease has not affirmed the patient's.
        With ``evidence`` too (each row's closest sentence), a "met" abstains when the sentence
        names an invasive tumour for an in-situ criterion or the reverse (``other_behaviour``).
        """
        x = np.atleast_2d(x)
        out = []
        texts = list(criteria) if criteria is not None else [""] * len(x)
        sentences = list(evidence) if evidence is not None else [""] * len(x)
        rows = zip(x, self.probabilities(x), texts, sentences, strict=True)
        for row, p, text, sentence in rows:
            f = dict(zip(self.features, row, strict=True))
            decision = self._decide_one(f, p, rules)
            if decision.label == "met" and criteria is not None:
                unknown = float(p[self.labels.index("unknown")])
                if about_a_relative(f, text):
                    decision = Decision("unknown", unknown, True, ABOUT_A_RELATIVE)
                elif other_behaviour(text, sentence):
                    decision = Decision("unknown", unknown, True, OTHER_BEHAVIOUR)
            out.append(decision)
        return out

    def _decide_one(self, f: dict[str, float], p: np.ndarray, rules: bool) -> Decision:
        rule = context_rule(f) if rules else None
        if rule is not None:
            label, why = rule
            return Decision(label, float(p[self.labels.index(label)]), False, why)
        best = int(np.argmax(p))
        if p[best] < self.threshold and self.labels[best] != "unknown":
            return Decision("unknown", float(p[self.labels.index("unknown")]), True)
        return Decision(self.labels[best], float(p[best]), False)

    def to_json(self) -> dict[str, object]:
        """The JSON form written to ``inference/weights/trials``."""
        return {
            "version": self.version,
            "features": list(self.features),
            "labels": list(self.labels),
            "weights": np.round(self.weights, 6).tolist(),
            "bias": np.round(self.bias, 6).tolist(),
            "mean": np.round(self.mean, 6).tolist(),
            "scale": np.round(self.scale, 6).tolist(),
            "threshold": round(self.threshold, 4),
        }


def fit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    l2: float = 1e-2,
    class_weight: np.ndarray | None = None,
    steps: int = 1500,
    lr: float = 0.5,
    version: str = "unsaved",
    threshold: float = 0.0,
) -> VerdictModel:
    """Fit multinomial logistic regression.

    Args:
        x: features (N, F).
        y: label indices into :data:`LABELS` (N,).
        l2: ridge penalty on the weights (not the bias).
        class_weight: per-class sample weight (C,); None weighs all rows equally.
        steps: gradient steps.
        lr: step size on standardised features.
        version: the version string to carry.
        threshold: abstention threshold to carry.

    Returns:
        The fitted model.
    """
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    xs = (x - mean) / scale
    n, f = xs.shape
    c = len(LABELS)
    onehot = np.eye(c)[y]
    sample = (class_weight[y] if class_weight is not None else np.ones(n))[:, None]
    sample = sample / sample.mean()
    w = np.zeros((f, c))
    b = np.zeros(c)
    for _ in range(steps):
        z = xs @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = sample * (p - onehot) / n
        w -= lr * (xs.T @ g + l2 * w)
        b -= lr * g.sum(axis=0)
    return VerdictModel(version, w, b, mean, scale, threshold)


def from_json(obj: dict[str, object]) -> VerdictModel:
    """A model from its JSON form; refuses one whose features differ from this code's."""
    features: tuple[str, ...] = tuple(obj["features"])  # type: ignore[arg-type]
    if features != FEATURES:
        raise ValueError("the weights file was trained on other features than this code computes")
    return VerdictModel(
        version=str(obj["version"]),
        weights=np.asarray(obj["weights"], dtype=float),
        bias=np.asarray(obj["bias"], dtype=float),
        mean=np.asarray(obj["mean"], dtype=float),
        scale=np.asarray(obj["scale"], dtype=float),
        threshold=float(obj["threshold"]),  # type: ignore[arg-type]
        features=features,
        labels=tuple(obj["labels"]),  # type: ignore[arg-type]
    )


def load(path: Path, expected_sha256: str | None) -> VerdictModel:
    """Load a weights file after checking its digest.

    Raises:
        ValueError: the file's sha256 differs from ``expected_sha256``.
    """
    if expected_sha256 is not None:
        digest = sha256_of(path)
        if digest != expected_sha256:
            raise ValueError(
                f"{path.name}: sha256 {digest} differs from the pinned {expected_sha256}"
            )
    return from_json(json.loads(path.read_text()))
