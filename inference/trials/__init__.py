"""Clinical-trial matching: record parsing, criteria parsing, eligibility, retrieval, ranking.

Entry points: ``criteria.criteria_for_trial``, ``eligibility.evaluate_trial``,
``matching.match_trials`` and ``matching.match_patients``; types in ``schema``. See
docs/trials/README.md.
"""

#: Recorded with every stored match and parsed trial; bump when verdicts or parsing change.
ENGINE_VERSION = "1.1"
