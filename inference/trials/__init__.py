"""Clinical-trial matching: record parsing, criteria parsing, eligibility, retrieval, ranking.

Entry points: ``criteria.criteria_for_trial``, ``eligibility.evaluate_trial``,
``matching.match_trials`` and ``matching.match_patients``; types in ``schema``. See
docs/trials/README.md.
"""

#: Recorded with every stored match and parsed trial; bump when verdicts or parsing change.
#: 1.2: record-level criteria (setting before surgery, carcinoma in situ), age limits judged
#: only when written as ages, current pregnancy only, and re-ranker trial-reranker-2 (no
#: criteria-count feature).
#: 1.3: "Age 18+" and "older / younger than" read as age limits, a nursing home is not
#: breastfeeding, and note-read "met" verdicts abstain when the sentence names an invasive tumour
#: for an in-situ criterion (or the reverse).
ENGINE_VERSION = "1.3"
