"""The drug vocabulary (``drugs.yaml``) and the normalisation of drug names read elsewhere."""

from __future__ import annotations

from pathlib import Path

from inference.therapy.kbformat import (
    KbFileError,
    entry_line,
    list_field,
    refuse_unknown_keys,
    text_field,
    yaml_read,
)
from inference.therapy.types import Drug, Regimen


def drugs_read(folder: Path) -> tuple[tuple[Drug, ...], tuple[Regimen, ...], str]:
    doc = yaml_read(folder, "drugs.yaml")
    drugs: list[Drug] = []
    seen: dict[str, int] = {}
    for entry in list_field(doc.name, doc.data, "drugs", required=True):
        if not isinstance(entry, dict):
            raise KbFileError(doc.name, entry_line(doc.data), "each drug must be a mapping")
        refuse_unknown_keys(doc.name, entry, {"name", "classes", "synonyms", "whatif"})
        name = text_field(doc.name, entry, "name").lower()
        classes = tuple(str(c) for c in list_field(doc.name, entry, "classes", required=True))
        synonyms = tuple(str(s).strip().lower() for s in list_field(doc.name, entry, "synonyms"))
        whatif = str(entry.get("whatif", "") or "")
        if whatif and whatif not in {"endocrine", "chemotherapy", "radiotherapy"}:
            raise KbFileError(doc.name, entry_line(entry), f"unknown what-if class “{whatif}”")
        for word in (name, *synonyms):
            if word in seen:
                raise KbFileError(
                    doc.name,
                    entry_line(entry),
                    f"“{word}” is already used on line {seen[word]}: one name, one drug",
                )
            seen[word] = entry_line(entry)
        drugs.append(Drug(name=name, classes=classes, synonyms=synonyms, whatif=whatif))
    names = {drug.name for drug in drugs}
    regimens: list[Regimen] = []
    for entry in list_field(doc.name, doc.data, "regimens"):
        refuse_unknown_keys(doc.name, entry, {"name", "drugs", "synonyms"})
        members = tuple(str(d).lower() for d in list_field(doc.name, entry, "drugs", required=True))
        missing = [d for d in members if d not in names]
        if missing:
            raise KbFileError(
                doc.name,
                entry_line(entry),
                f"regimen names drugs not in the list: {', '.join(missing)}",
            )
        regimens.append(
            Regimen(
                name=text_field(doc.name, entry, "name"),
                drugs=members,
                synonyms=tuple(str(s).lower() for s in list_field(doc.name, entry, "synonyms")),
            )
        )
    return tuple(drugs), tuple(regimens), str(doc.data["version"])


# Salt, ester and hydrate words that name a form of the same agent, not another agent (USAN/INN
# practice: "imatinib mesylate" is imatinib). Stripped from the end of a name, in any order.
SALT_WORDS = frozenset(
    {
        "acetate",
        "besilate",
        "besylate",
        "bismesylate",
        "bitartrate",
        "calcium",
        "citrate",
        "dihydrochloride",
        "dimaleate",
        "dimesylate",
        "disodium",
        "ditosylate",
        "edisylate",
        "esylate",
        "fumarate",
        "hcl",
        "hemihydrate",
        "hydrate",
        "hydrobromide",
        "hydrochloride",
        "isethionate",
        "lactate",
        "l-malate",
        "malate",
        "maleate",
        "meglumine",
        "mesilate",
        "mesylate",
        "monohydrate",
        "phosphate",
        "potassium",
        "sesquihydrate",
        "sodium",
        "succinate",
        "sulfate",
        "sulphate",
        "tartrate",
        "tosilate",
        "tosylate",
        "trihydrate",
        "tromethamine",
    }
)


def drug_base_name(name: str) -> str:
    """``"Pictilisib Bismesylate"`` -> ``"Pictilisib"``: the agent without its salt or ester.

    The name keeps its own spelling; a name that is nothing but salt words is kept whole.
    """
    words = name.split()
    while len(words) > 1 and words[-1].lower() in SALT_WORDS:
        words.pop()
    return " ".join(words)


def normalise_drug_names(
    raw: str, index: dict[str, Drug]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``"Cisplatin,Imatinib Mesylate"`` -> (normalised known names, unknown names).

    A name is looked up as written, then without its salt or ester (:func:`drug_base_name`) in
    the vocabulary's names and synonyms. An unknown name is kept without its salt, so that
    "Pictilisib" and "Pictilisib Bismesylate" are one agent (and one option) even when the
    vocabulary does not know it.
    """
    known: list[str] = []
    unknown: list[str] = []
    for part in raw.split(","):
        word = " ".join(part.split())
        if not word:
            continue
        base = drug_base_name(word)
        drug = index.get(word.lower()) or index.get(base.lower())
        if drug is None:
            if base.lower() not in {u.lower() for u in unknown}:
                unknown.append(base)
        elif drug.name not in known:
            known.append(drug.name)
    return tuple(known), tuple(unknown)


def drug_index(drugs: tuple[Drug, ...]) -> dict[str, Drug]:
    index: dict[str, Drug] = {}
    for drug in drugs:
        index[drug.name] = drug
        for synonym in drug.synonyms:
            index[synonym] = drug
    return index
