"""How a CIViC evidence item's disease relates to the patient's cancer, for the molecular table.

The mapping of CIViC disease names to OncoTree codes is the therapy knowledge base's
``diseases.tsv``, the file the therapy ranking reads too, so both call the same disease "this
cancer".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from inference.therapy import types as t
from inference.therapy.evidence import code_relation
from inference.therapy.kbfiles import diseases_read
from oncology_ui.patients.vocabularies import oncotree_lineage

#: The shipped therapy knowledge base (``load_therapy_kb`` reads the same folder).
THERAPY_KB_DIR = Path(__file__).resolve().parents[1] / "therapies" / "kb"


@lru_cache(maxsize=1)
def _civic_diseases() -> dict[str, t.DiseaseMap]:
    maps = diseases_read(THERAPY_KB_DIR, lineage_of=oncotree_lineage)
    return {d.name.lower(): d for d in maps if d.source == "civic"}


#: Order of the relations of an evidence item's disease to the patient's: own disease first.
DISEASE_RELATION_ORDER = {"same": 0, "narrower": 1, "pan-cancer": 2, "other": 3, "unmapped": 4}


def civic_disease_relation(oncotree_code: str) -> Callable[[str], str]:
    """For a case's OncoTree code: CIViC disease name -> same | narrower | pan-cancer | other |
    unmapped, through the shipped ``kb/diseases.tsv`` (the mapping the ranking uses).

    Without a case code every mapped disease is ``other``: nothing is called "this cancer".
    """
    case_lineage = oncotree_lineage(oncotree_code) or () if oncotree_code else ()
    known = _civic_diseases()

    def relation(disease: str) -> str:
        mapped = known.get(disease.strip().lower())
        if mapped is None or mapped.oncotree_code == "":
            return "unmapped"
        if mapped.oncotree_code == "*":
            return "pan-cancer"
        return code_relation(
            mapped.oncotree_code, mapped.lineage, oncotree_code.strip().upper(), case_lineage
        )

    return relation
