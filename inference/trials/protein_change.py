"""Protein-change spellings compared as one key: ``L858R``, ``p.L858R`` and ``p.(Leu858Arg)``.

Criteria write the short form; importers and the note reader store HGVS ``p.`` notation, often
with three-letter residues. Comparing raw strings would call every named-variant criterion
unmet, so both sides go through :func:`protein_change_key`.
"""

from __future__ import annotations

import re

AA3_TO_1 = {
    "Ala": "A",
    "Arg": "R",
    "Asn": "N",
    "Asp": "D",
    "Cys": "C",
    "Gln": "Q",
    "Glu": "E",
    "Gly": "G",
    "His": "H",
    "Ile": "I",
    "Leu": "L",
    "Lys": "K",
    "Met": "M",
    "Phe": "F",
    "Pro": "P",
    "Ser": "S",
    "Thr": "T",
    "Trp": "W",
    "Tyr": "Y",
    "Val": "V",
    "Sec": "U",
    "Pyl": "O",
    "Ter": "*",
}
# Case-sensitive on purpose: HGVS writes "Leu"; "L858R" must not be read as containing "Arg".
_THREE = re.compile("|".join(AA3_TO_1))


def protein_change_key(change: str) -> str:
    """Lower-case one-letter form without the ``p.`` prefix, brackets or punctuation."""
    text = re.sub(r"^\s*p\.\s*", "", change.strip(), flags=re.IGNORECASE)
    text = _THREE.sub(lambda m: AA3_TO_1[m.group(0)], text)
    return re.sub(r"[^a-z0-9*]", "", text.lower())
