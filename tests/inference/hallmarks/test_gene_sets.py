import numpy as np

from inference.hallmarks.gene_sets import hallmark_membership, hallmark_scores, hallmark_sets


def test_the_fifty_msigdb_hallmark_sets_load_with_source_and_licence():
    sets = hallmark_sets()
    assert len(sets.sets) == 50
    assert "Liberzon" in sets.source
    assert "CC BY 4.0" in sets.licence
    assert "CDKN1A" in sets.sets["HALLMARK_P53_PATHWAY"]


def test_sets_with_too_few_measured_members_are_left_out():
    genes = list(hallmark_sets().sets["HALLMARK_HYPOXIA"][:6]) + ["NOT_A_GENE"]
    membership = hallmark_membership(genes)
    assert "HALLMARK_HYPOXIA" in membership.names
    assert all(len(cols) >= 5 for cols in membership.columns)
    hypoxia = hallmark_sets().sets["HALLMARK_HYPOXIA"]
    assert membership.coverage()["HALLMARK_HYPOXIA"] == 6 / len(hypoxia)


def test_a_score_is_the_mean_of_measured_members_and_ignores_missing_values():
    genes = list(hallmark_sets().sets["HALLMARK_HYPOXIA"][:6])
    membership = hallmark_membership(genes)
    values = np.array([[1.0, 2.0, 3.0, np.nan, 5.0, 1.0], [np.nan] * 6])
    scores = hallmark_scores(values, membership)
    j = membership.names.index("HALLMARK_HYPOXIA")
    assert scores[0, j] == (1 + 2 + 3 + 5 + 1) / 5
    assert np.isnan(scores[1, j])
