"""What the generative model is given of a case, and what the app says the case still needs.

The observation is a JSON snapshot of the record (stored on the profile row, so a run can be
reproduced): the OncoTree code, age, sex, the structured mutations and copy numbers that the
prognosis model reads (:func:`oncology_ui.clinical.selectors.clinical_model_inputs`) and the
z-scores of the latest expression import. A gene the record does not name is unknown, never
wild type.

:func:`case_needs` collects the therapy options' "needs X" rules and the trial criteria whose
verdict is unknown for want of a test, so the next-best-test list can say what each test settles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from inference.generative.profile import TumourObservation
from oncology_ui.clinical.models import ExpressionProfile
from oncology_ui.clinical.selectors import clinical_model_inputs
from oncology_ui.patients.models import Case
from oncology_ui.therapies.selectors import ranking_latest
from oncology_ui.trials.services import trial_match_latest


def case_observation(case: Case) -> dict[str, Any]:
    """The case as the generative model reads it, JSON-safe (no names or free text)."""
    molecular = clinical_model_inputs(case).get("molecular") or {}
    expression = ExpressionProfile.objects.filter(case=case).first()
    return {
        "cancer_type": case.oncotree_code.strip().upper(),
        "age": float(case.age_at_diagnosis) if case.age_at_diagnosis is not None else None,
        "is_female": {"female": True, "male": False}.get(case.patient.sex),
        "mutations": {g: bool(v) for g, v in (molecular.get("mutations") or {}).items()} or None,
        "cnv": dict(molecular.get("copy_number") or {}) or None,
        "rna": dict(expression.values) if expression is not None else None,
        "rna_source": (
            f"{expression.unit} import of {expression.created_at:%Y-%m-%d} "
            f"against {expression.reference_label}"
            if expression is not None
            else ""
        ),
    }


def observation_of(snapshot: dict[str, Any]) -> TumourObservation:
    """The frozen observation the inference boundary takes, from a stored snapshot."""
    return TumourObservation(
        cancer_type=str(snapshot.get("cancer_type") or ""),
        age=snapshot.get("age"),
        is_female=snapshot.get("is_female"),
        mutations=snapshot.get("mutations"),
        cnv=snapshot.get("cnv"),
        rna=snapshot.get("rna"),
    )


@dataclass(frozen=True)
class Need:
    """One thing the record lacks that a therapy rule or trial criterion is waiting for.

    ``gene`` is the HGNC symbol when the need is a gene test; ``test`` a biomarker or work-up
    (``"ER"``, ``"HER2"``, ``"stage"``) otherwise.
    """

    gene: str
    test: str
    settles: str


_GENE = re.compile(r"\b([A-Z][A-Z0-9]{1,9})\b")
_BIOMARKERS = ("ER", "PR", "HER2", "PD-L1", "MSI", "TMB")
#: A trial resolver that asks for a test ("order EGFR testing", "repeat HER2 testing ...").
_TRIAL_TEST = re.compile(r"^(?:order|repeat) (\S+) testing\b")


def _parse(item: str) -> tuple[str, str]:
    """(gene, test) named by a "needs" item such as ``"EGFR status (not tested)"``."""
    for marker in _BIOMARKERS:
        if re.search(rf"\b{re.escape(marker)}\b", item):
            return "", marker
    if "stage" in item.lower():
        return "", "stage work-up"
    found = _GENE.search(item)
    return (found.group(1), "") if found else ("", item.strip())


def case_needs(case: Case) -> list[Need]:
    """The therapy and trial "needs X" / unknown lists of the latest stored runs.

    Therapy rules come from the ranking's not-evaluable rules ("<rule> (<guideline>) needs
    EGFR status (not tested)"); trial criteria from unknown verdicts whose resolver orders a
    test ("order EGFR testing", "record both ER and PR status"). Labs and other facts to record
    are not tests the generative model could inform, and are left to those sections.
    """
    needs: list[Need] = []
    ranking = ranking_latest(case)
    if ranking is not None:
        unknowns = (ranking.result or {}).get("unknowns") or {}
        for rule in unknowns.get("not_evaluable") or []:
            label, _, wanted = str(rule).partition(" needs ")
            name = label.split(" (")[0].strip()
            for item in wanted.split(", "):
                gene, test = _parse(item)
                needs.append(Need(gene, test, f"therapy rule {name}"))
    result = trial_match_latest(case)
    for match in (result.matches if result is not None and result.matches else [])[:20]:
        for verdict in match.get("verdicts", []):
            resolver = str(verdict.get("resolver") or "")
            if verdict.get("verdict") != "unknown":
                continue
            ordered = _TRIAL_TEST.match(resolver)
            if ordered is None and not resolver.startswith("record both ER and PR"):
                continue
            gene, test = _parse(ordered.group(1) if ordered else resolver)
            needs.append(Need(gene, test, f"trial {match.get('nct_id', '')}"))
    return needs
