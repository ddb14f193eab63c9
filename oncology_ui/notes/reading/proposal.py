"""What a proposal is: the kinds of fact read from a document, their flags and spans."""

from __future__ import annotations

from dataclasses import dataclass, field

# --- what a proposal is ------------------------------------------------------------------------

BIOMARKER = "biomarker"
TNM = "tnm"
STAGE_GROUP = "stage_group"
ECOG = "ecog"
KARNOFSKY = "karnofsky"
LAB = "lab"
PRIOR_THERAPY = "prior_therapy"
METASTATIC_SITE = "metastatic_site"
MENOPAUSAL_STATUS = "menopausal_status"
PREGNANCY = "pregnancy"
COMORBIDITY = "comorbidity"
VARIANT = "variant"
DIAGNOSIS = "diagnosis"

KINDS = (
    BIOMARKER,
    TNM,
    STAGE_GROUP,
    ECOG,
    KARNOFSKY,
    LAB,
    PRIOR_THERAPY,
    METASTATIC_SITE,
    MENOPAUSAL_STATUS,
    PREGNANCY,
    COMORBIDITY,
    VARIANT,
    DIAGNOSIS,
)


@dataclass(frozen=True)
class Flags:
    """The ConText assertion of a fact: none set means a current fact about the patient."""

    negated: bool = False
    historical: bool = False
    hypothetical: bool = False
    family: bool = False


@dataclass(frozen=True)
class Proposal:
    """One fact read from the text, not yet reviewed.

    ``value`` holds the fields the accepted row needs (strings and numbers only, so it can be
    stored as JSON and edited in a form); ``start``/``end`` are character offsets in the text.
    """

    kind: str
    label: str
    value: dict[str, str | int | float | None]
    start: int
    end: int
    section: str = ""
    flags: Flags = field(default_factory=Flags)
