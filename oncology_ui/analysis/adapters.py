"""The one place where database rows become :mod:`inference.schema` dataclasses and back.

Rows are first turned into a JSON snapshot (stored on the ``AnalysisRun`` with its hash), and
the model is fed from the snapshot, never from live rows, so a run can be reproduced exactly.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict
from typing import Any

from inference.portrait.routing import PORTRAIT_TYPE_OF
from inference.portrait.vocabulary import ClinicalPortrait, portrait_from_flat
from inference.schema import (
    CaseInputs,
    ClinicalFacts,
    LabPanel,
    MolecularProfile,
    SurvivalPrediction,
    TreatmentPlan,
)
from oncology_ui.analysis.portrait_inputs import case_portrait, stage_group_number
from oncology_ui.imaging.model_inputs import imaging_inputs, imaging_snapshot
from oncology_ui.pathology.snapshot import slides_snapshot, slides_to_inputs
from oncology_ui.patients.models import Case

#: Bumped whenever the mapping from rows to model inputs changes.
ADAPTER_VERSION = "5"


def _stage_number(stage_group: str) -> float | None:
    """AJCC stage group as 0.0-4.0 (``IIIB`` -> 3.0); None when not staged.

    A float, as the snapshot has always stored it (its hash depends on the JSON).
    """
    number = stage_group_number(stage_group)
    return None if number is None else float(number)


def case_snapshot(case: Case) -> dict[str, Any]:
    """The model-relevant facts of a case as plain JSON (no names, MRNs or free text)."""
    patient = case.patient
    clinical: dict[str, float | None] = {
        "age": float(case.age_at_diagnosis),
        "is_female": {"female": 1.0, "male": 0.0}.get(patient.sex),
        "stage": _stage_number(case.stage_group),
        "ecog": float(case.ecog) if case.ecog is not None else None,
    }
    therapies = sorted(
        {
            event.regimen.strip().lower()
            for event in case.events.filter(kind="systemic_therapy")
            if event.regimen.strip()
        }
    )
    from oncology_ui.clinical.selectors import clinical_model_inputs

    imported = clinical_model_inputs(case)
    # ER status is a clinical input of the breast models (METABRIC); the latest ER result decides,
    # and an equivocal or missing one stays missing rather than guessed.
    er_status = (imported.get("extra_clinical") or {}).get("biomarkers", {}).get("ER", {})
    clinical["er_positive"] = {"positive": 1.0, "negative": 0.0}.get(er_status.get("status", ""))
    return {
        "case_id": str(case.pk),
        "clinical": {
            "values": {k: v for k, v in clinical.items() if v is not None},
            "cancer_type": case.oncotree_code or None,
        },
        "labs": imported.get("labs"),
        "molecular": imported.get("molecular"),
        # Dates, units and staleness of the imported values, kept for the record of this run.
        "provenance": imported.get("extra_clinical"),
        # Slides and imaging as their apps reference them (None until a case has any).
        "slides": slides_snapshot(case),
        "imaging": imaging_snapshot(case),
        "treatment": {"therapies": dict.fromkeys(therapies, True)} if therapies else None,
        # The case in the prognosis model's clinical vocabulary, each value with its source row.
        "portrait": case_portrait(
            case, portrait_type=PORTRAIT_TYPE_OF.get(case.oncotree_code.strip().upper())
        ),
    }


def snapshot_hash(snapshot: dict[str, Any]) -> str:
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def case_inputs_from_snapshot(snapshot: dict[str, Any]) -> CaseInputs:
    """Rebuild the frozen model inputs from a stored snapshot."""
    clinical = snapshot.get("clinical")
    labs = snapshot.get("labs")
    molecular = snapshot.get("molecular")
    slides = snapshot.get("slides")
    imaging = snapshot.get("imaging")
    treatment = snapshot.get("treatment")
    return CaseInputs(
        case_id=str(snapshot["case_id"]),
        clinical=ClinicalFacts(values=clinical["values"], cancer_type=clinical.get("cancer_type"))
        if clinical
        else None,
        labs=LabPanel(values=labs["values"]) if labs else None,
        molecular=MolecularProfile(
            mutations=molecular.get("mutations", {}),
            copy_number=molecular.get("copy_number", {}),
            expression=molecular.get("expression", {}),
        )
        if molecular
        else None,
        slides=slides_to_inputs(slides) if slides else (),
        imaging=imaging_inputs(imaging) if imaging else None,
        treatment=TreatmentPlan(therapies=treatment["therapies"]) if treatment else None,
    )


def portrait_from_snapshot(snapshot: dict[str, Any]) -> ClinicalPortrait | None:
    """The clinical portrait a run stored, or None for a run from before portraits existed."""
    stored = snapshot.get("portrait")
    if not stored:
        return None
    cancer_type = (snapshot.get("clinical") or {}).get("cancer_type")
    return portrait_from_flat(stored.get("values") or {}, cancer_type)


def _json_safe(value: Any) -> Any:
    """NaN and infinities are not JSON: store them as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def prediction_fields(prediction: SurvivalPrediction) -> dict[str, Any]:
    """Column values of a ``Prediction`` row for a model result."""
    data = _json_safe(asdict(prediction))
    model = data["model"]
    return {
        "status": data["status"],
        "abstention_reasons": data["abstention_reasons"],
        "model_name": model["name"],
        "model_version": model["version"],
        "weights_sha256": model["weights_sha256"],
        "model_card": model["model_card"],
        "trained_modalities": model["trained_modalities"],
        "untrained_modalities": model["untrained_modalities"],
        "curve": data["curve"],
        "median_months": data["median_months"],
        "survival_at": data["survival_at"],
        "risk_score": data["risk_score"] if data["risk_score"] is not None else 0.0,
        "time_interval": data["time_interval"],
        "inputs_used": data["inputs_used"],
        "inputs_missing": data["inputs_missing"],
        "inputs_ignored": data["inputs_ignored"],
        "explanation": data["explanation"],
        "covariates_used": data["covariates_used"],
        "covariates_missing": data["covariates_missing"],
        "time_zero": data["time_zero"] or "",
        "validation": data["validation"],
    }
