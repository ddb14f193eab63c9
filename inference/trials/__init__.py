"""Clinical-trial matching: record parsing, criteria parsing, eligibility, retrieval, ranking.

Entry points: ``criteria.criteria_for_trial``, ``eligibility.evaluate_trial``,
``matching.match_trials`` and ``matching.match_patients``; types in ``schema``. See
docs/trials/README.md.
"""

#: Recorded with every stored match and parsed trial; bump when verdicts or parsing change.
#: 1.2: record-level criteria (setting before surgery, carcinoma in situ), age limits judged
#: only when written as ages, current pregnancy only, and re-ranker trial-reranker-2 (no
#: criteria-count feature).
ENGINE_VERSION = "1.2"
