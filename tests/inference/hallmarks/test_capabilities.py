"""The Hanahan-Weinberg capability mapping loads, is complete and cites its sources."""

from __future__ import annotations

import json

import pytest

from inference.hallmarks import capabilities
from inference.hallmarks.capabilities import CapabilityFileError, capability_map
from inference.hallmarks.gene_sets import hallmark_sets

HW2011_HALLMARKS = {
    "sustaining_proliferative_signaling",
    "evading_growth_suppressors",
    "resisting_cell_death",
    "enabling_replicative_immortality",
    "inducing_angiogenesis",
    "activating_invasion_metastasis",
    "reprogramming_energy_metabolism",
    "avoiding_immune_destruction",
    "genome_instability",
    "tumour_promoting_inflammation",
}
H2022_ADDITIONS = {
    "unlocking_phenotypic_plasticity",
    "nonmutational_epigenetic_reprogramming",
    "polymorphic_microbiomes",
    "senescent_cells",
}


def test_the_file_loads_with_every_2011_and_2022_capability() -> None:
    mapping = capability_map()
    assert {c.key for c in mapping.capabilities} == HW2011_HALLMARKS | H2022_ADDITIONS
    assert "CC BY 4.0" in mapping.gene_set_licence


def test_every_capability_names_its_sources_and_a_rationale() -> None:
    for cap in capability_map().capabilities:
        assert cap.rationale and cap.sources, cap.key
        assert all("doi:" in source for source in cap.sources), cap.key
        assert any("Liberzon" in source for source in cap.sources), cap.key
    cited = " ".join(s for c in capability_map().capabilities for s in c.sources)
    assert "10.1016/j.cell.2011.02.013" in cited and "10.1158/2159-8290.CD-21-1059" in cited


def test_capabilities_without_a_fitting_set_say_so_instead_of_being_forced() -> None:
    unscored = {c.key: c for c in capability_map().capabilities if not c.scored}
    assert {
        "enabling_replicative_immortality",
        "nonmutational_epigenetic_reprogramming",
        "polymorphic_microbiomes",
    } <= set(unscored)
    for cap in unscored.values():
        assert "not scored" in cap.rationale or "not scored" in cap.rationale.lower(), cap.key


def test_every_mapped_set_is_an_msigdb_hallmark_set_with_a_direction() -> None:
    known = set(hallmark_sets().sets)
    for cap in capability_map().capabilities:
        for mapped in cap.gene_sets:
            assert mapped.name in known and mapped.direction in (1, -1)


def test_a_mapping_to_an_unknown_set_is_refused(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = json.loads(capabilities.CAPABILITIES_FILE.read_text(encoding="utf-8"))
    raw["capabilities"][0]["gene_sets"].append({"set": "HALLMARK_NOT_A_SET", "direction": 1})
    broken = tmp_path / "capabilities.json"  # type: ignore[operator]
    broken.write_text(json.dumps(raw), encoding="utf-8")
    monkeypatch.setattr(capabilities, "CAPABILITIES_FILE", broken)
    capability_map.cache_clear()
    try:
        with pytest.raises(CapabilityFileError, match="HALLMARK_NOT_A_SET"):
            capability_map()
    finally:
        capability_map.cache_clear()
