"""Rule-based extraction of structure from one atomic criterion line.

Each extractor looks for one kind of content and returns zero or more :class:`Structure`. The
rules are deliberately conservative: a line they do not recognise yields nothing and stays free
text (judged unknown), rather than a guessed structure.

* :mod:`.common` - :class:`Structure`, comparator words, numbers, negation cues
* :mod:`.numbers` - lab thresholds, performance status, age, life expectancy
* :mod:`.markers` - simple flags (brain metastases...) and biomarker requirements
* :mod:`.therapy` - prior / concurrent therapy requirements
* :mod:`.disease` - tumour type and stage, permissive wording, other malignancies
"""

from __future__ import annotations

from inference.trials.extract.common import Structure
from inference.trials.extract.disease import (
    PERMISSIVE_RE,
    extract_condition_stage,
    extract_other_malignancy,
    split_permissive,
)
from inference.trials.extract.markers import extract_biomarkers, extract_flags
from inference.trials.extract.numbers import (
    extract_age,
    extract_labs,
    extract_life_expectancy,
    extract_performance_status,
)
from inference.trials.extract.therapy import extract_therapy
from inference.trials.schema import CriterionKind

__all__ = ["Structure", "extract_structures"]


def extract_structures(text: str, context: str = "") -> list[Structure]:
    """Run every extractor over one atomic criterion line.

    Args:
        text: the criterion line.
        context: the heading it sits under (e.g. "Age", "Hepatic"), used by a few extractors.

    Returns:
        The structures found, in a stable order; empty when nothing was recognised.
    """
    # "Prior hormonal therapy allowed" grants permission; it is not a requirement to check.
    text, permissive = split_permissive(text)
    if permissive and not text:
        return [Structure(CriterionKind.PERMISSIVE)]
    if PERMISSIVE_RE.search(text):
        # A conditional permission ("allowed if stopped 4 weeks before") stays free text.
        return []
    labs = extract_labs(text)
    performance = extract_performance_status(text, context)
    age = [] if labs or performance else extract_age(text, context)
    life = extract_life_expectancy(text, context)
    flags = extract_flags(text)
    biomarkers = extract_biomarkers(text)
    therapy = [] if labs else extract_therapy(text)
    # The index cancer named in "other malignancy" criteria is not a condition to check.
    other = extract_other_malignancy(text)
    disease = [] if labs or performance or therapy or other else extract_condition_stage(text)
    return [*age, *performance, *life, *labs, *flags, *biomarkers, *therapy, *other, *disease]
