"""Roles as groups, and the permission matrix they carry.

The matrix is data so the documentation (``docs/permissions.md``) and the tests read the same
table. Seeing a patient at all additionally requires membership of one of the patient's care
teams; these permissions say what a team member may do with what they can see.
"""

from __future__ import annotations

from typing import Final

ONCOLOGIST: Final = "oncologist"
PATHOLOGIST: Final = "pathologist"
RADIOLOGIST: Final = "radiologist"
TRIAL_COORDINATOR: Final = "trial coordinator"
ADMINISTRATOR: Final = "administrator"

ROLES: Final = (ONCOLOGIST, PATHOLOGIST, RADIOLOGIST, TRIAL_COORDINATOR, ADMINISTRATOR)

_READ_RECORD = (
    "patients.view_patient",
    "patients.view_case",
    "patients.view_timelineevent",
    "analysis.view_prediction",
)

ROLE_PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {
    ONCOLOGIST: (
        *_READ_RECORD,
        "patients.add_patient",
        "patients.change_patient",
        "patients.add_case",
        "patients.change_case",
        "patients.add_timelineevent",
        "patients.change_timelineevent",
        "patients.delete_timelineevent",
        "patients.export_case",
        "analysis.add_analysisrun",
    ),
    PATHOLOGIST: (
        *_READ_RECORD,
        "patients.add_timelineevent",
        "patients.change_timelineevent",
    ),
    RADIOLOGIST: (
        *_READ_RECORD,
        "patients.add_timelineevent",
        "patients.change_timelineevent",
    ),
    TRIAL_COORDINATOR: (
        *_READ_RECORD,
        "patients.export_case",
    ),
    ADMINISTRATOR: (
        "core.view_audit",
        "core.view_team",
        "core.add_team",
        "core.change_team",
        "core.delete_team",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        "core.view_job",
        # Sign-in lockouts: see who is locked and clear a lock (django-axes' admin).
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
    ),
}


def roles_register(matrix: dict[str, tuple[str, ...]]) -> None:
    """Add an app's rows to the matrix (called from its ``AppConfig.ready``)."""
    for role, codes in matrix.items():
        if role not in ROLE_PERMISSIONS:
            raise ValueError(f"unknown role {role!r}")
        ROLE_PERMISSIONS[role] = tuple(dict.fromkeys((*ROLE_PERMISSIONS[role], *codes)))


def roles_setup() -> None:
    """Create or update one group per role with exactly the permissions of the matrix."""
    from django.contrib.auth.models import Group, Permission

    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = []
        for code in codes:
            app_label, codename = code.split(".", 1)
            permissions.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)
