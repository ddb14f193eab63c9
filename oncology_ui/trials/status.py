"""Recruitment statuses in words, and which of them a patient can still be referred to."""

from __future__ import annotations

#: Statuses a trial takes new patients in: the default of every match list.
OPEN_STATUSES = ("recruiting", "not_yet_recruiting")

# ClinicalTrials.gov overall statuses, as normalised by inference.trials.records.
STATUS_LABELS = {
    "recruiting": "Recruiting",
    "not_yet_recruiting": "Not yet recruiting",
    "enrolling_by_invitation": "Enrolling by invitation",
    "active_not_recruiting": "Active, not recruiting",
    "suspended": "Suspended",
    "terminated": "Terminated",
    "completed": "Completed",
    "withdrawn": "Withdrawn",
    "unknown_status": "Unknown status",
    "available": "Available (expanded access)",
    "no_longer_available": "No longer available",
    "temporarily_not_available": "Temporarily not available",
    "approved_for_marketing": "Approved for marketing",
    "withheld": "Withheld",
}


def status_label(status: str) -> str:
    """The registry's words for a status ("Active, not recruiting"); unknown when blank."""
    if not status:
        return "Status not given"
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def status_is_open(status: str) -> bool:
    """Whether a referral to a trial of this status can lead to enrolment now."""
    return status in OPEN_STATUSES
