"""Roles as groups, and the one permission matrix they carry.

The matrix is a list of capabilities: what a person may do, the Django permissions that takes,
and the roles that may. The groups (:func:`roles_setup`, after every ``migrate``), the tests and
the table in ``docs/permissions.md`` (``manage.py permissions_doc``) are all made from it.
Seeing a patient at all additionally requires membership of one of the patient's care teams;
these permissions say what a team member may do with what they can see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ONCOLOGIST: Final = "oncologist"
PATHOLOGIST: Final = "pathologist"
RADIOLOGIST: Final = "radiologist"
TRIAL_COORDINATOR: Final = "trial coordinator"
ADMINISTRATOR: Final = "administrator"

ROLES: Final = (ONCOLOGIST, PATHOLOGIST, RADIOLOGIST, TRIAL_COORDINATOR, ADMINISTRATOR)


@dataclass(frozen=True)
class Capability:
    """One row of the matrix: ``text`` as the documentation says it."""

    text: str
    permissions: tuple[str, ...]
    roles: tuple[str, ...]


_CLINICIANS = (ONCOLOGIST, PATHOLOGIST, RADIOLOGIST, TRIAL_COORDINATOR)
_EVERYONE = ROLES

CAPABILITIES: Final[tuple[Capability, ...]] = (
    # Patients and cases
    Capability(
        "view patient, case, timeline (own teams)",
        ("patients.view_patient", "patients.view_case", "patients.view_timelineevent"),
        _CLINICIANS,
    ),
    Capability(
        "add / edit patient demographics",
        ("patients.add_patient", "patients.change_patient"),
        (ONCOLOGIST,),
    ),
    Capability(
        "add / edit case (diagnosis, staging, ECOG, status)",
        ("patients.add_case", "patients.change_case"),
        (ONCOLOGIST,),
    ),
    Capability(
        "add / edit timeline events",
        ("patients.add_timelineevent", "patients.change_timelineevent"),
        (ONCOLOGIST, PATHOLOGIST, RADIOLOGIST),
    ),
    Capability("delete timeline events", ("patients.delete_timelineevent",), (ONCOLOGIST,)),
    Capability(
        "export a case's data (CSV, or a FHIR bundle)",
        ("patients.export_case",),
        (ONCOLOGIST, TRIAL_COORDINATOR),
    ),
    # Model analysis
    Capability(
        "view model predictions (prognosis section)", ("analysis.view_prediction",), _CLINICIANS
    ),
    Capability("run a model analysis of a case", ("analysis.add_analysisrun",), (ONCOLOGIST,)),
    Capability(
        "view generative profiles and in-silico experiments",
        ("generative.view_generativeprofile", "generative.view_insilicoexperiment"),
        _CLINICIANS,
    ),
    Capability(
        "run a generative profile or an in-silico experiment of a case",
        ("generative.add_generativeprofile", "generative.add_insilicoexperiment"),
        (ONCOLOGIST,),
    ),
    # Clinical, lab and molecular data
    Capability(
        "view imported labs, variants, biomarkers, import reports",
        (
            "clinical.view_clinicalimport",
            "clinical.view_labresult",
            "clinical.view_variant",
            "clinical.view_biomarker",
            "clinical.view_clinicalfact",
        ),
        _CLINICIANS,
    ),
    Capability(
        "import lab CSV, VCF/MAF/variant CSV, FHIR bundles",
        ("clinical.add_clinicalimport",),
        (ONCOLOGIST,),
    ),
    Capability("enter a biomarker by hand", ("clinical.add_biomarker",), (ONCOLOGIST, PATHOLOGIST)),
    # Clinical documents (notes, reports, letters) and the facts read from them
    Capability(
        "view clinical documents and the facts read from them",
        ("notes.view_clinicaldocument", "notes.view_proposedfact"),
        _CLINICIANS,
    ),
    Capability(
        "add a clinical note, pathology or radiology report, or letter",
        ("notes.add_clinicaldocument",),
        (ONCOLOGIST, PATHOLOGIST, RADIOLOGIST),
    ),
    Capability(
        "review facts read from documents (accept, correct, reject)",
        ("notes.change_proposedfact",),
        (ONCOLOGIST,),
    ),
    # Tumor boards
    Capability("view boards", ("boards.view_board",), _EVERYONE),
    Capability(
        "view meetings, decisions, outcomes page",
        ("boards.view_meeting", "boards.view_decision", "boards.view_outcomes"),
        _CLINICIANS,
    ),
    Capability(
        "create and edit meetings and agendas",
        ("boards.add_meeting", "boards.change_meeting", "boards.add_agendaitem"),
        (ONCOLOGIST,),
    ),
    Capability(
        "record the preparation checklist",
        ("boards.change_agendaitem",),
        (ONCOLOGIST, PATHOLOGIST, RADIOLOGIST),
    ),
    Capability(
        "record and sign a board decision",
        ("boards.add_decision", "boards.change_decision", "boards.sign_decision"),
        (ONCOLOGIST,),
    ),
    Capability(
        "record outcomes (response, progression, toxicity)",
        ("boards.add_outcomerecord",),
        (ONCOLOGIST,),
    ),
    Capability(
        "create and edit boards; review the discordance register",
        ("boards.add_board", "boards.change_board", "boards.view_discordance"),
        (ADMINISTRATOR,),
    ),
    # Pathology slides
    Capability(
        "view slides: viewer, tiles, thumbnails, overlays", ("pathology.view_slide",), _CLINICIANS
    ),
    Capability("upload slides", ("pathology.add_slide",), (ONCOLOGIST, PATHOLOGIST)),
    Capability(
        "remove a slide from a case, audited",
        ("pathology.delete_slide",),
        (ONCOLOGIST, PATHOLOGIST),
    ),
    # Radiology imaging
    Capability(
        "view imaging studies, series, viewer and slices, lesion measurements, uploads, RECIST",
        (
            "imaging.view_imagingupload",
            "imaging.view_imagingstudy",
            "imaging.view_imagingseries",
            "imaging.view_imagingregion",
            "imaging.view_recistassessment",
        ),
        _CLINICIANS,
    ),
    Capability(
        "upload DICOM studies (zip or files) or import them from the PACS; record RECIST "
        "time points",
        ("imaging.add_imagingupload", "imaging.add_recistassessment"),
        (ONCOLOGIST, RADIOLOGIST),
    ),
    Capability(
        "review images held for burned-in text (preview, release, discard)",
        ("imaging.view_quarantinedinstance", "imaging.change_quarantinedinstance"),
        (RADIOLOGIST,),
    ),
    # Therapy ranking
    Capability(
        "view therapy rankings, evidence, what-if and accept/reject decisions",
        ("therapies.view_therapyranking", "therapies.view_therapydecision"),
        _CLINICIANS,
    ),
    Capability(
        "rank therapies for a case; accept or reject an option with a reason",
        ("therapies.add_therapyranking", "therapies.add_therapydecision"),
        (ONCOLOGIST,),
    ),
    Capability(
        "view the therapy knowledge base version and contents",
        ("therapies.view_knowledgebase",),
        (ONCOLOGIST, ADMINISTRATOR),
    ),
    # Clinical trials
    Capability("search trials, view a trial's parsed criteria", ("trials.view_trial",), _EVERYONE),
    Capability(
        "view a case's trial matches: checklist, evidence, resolvers",
        ("trials.view_trialmatchresult",),
        _CLINICIANS,
    ),
    Capability(
        "find trials / re-run matching for a case",
        ("trials.add_trialmatchresult",),
        (ONCOLOGIST, TRIAL_COORDINATOR),
    ),
    Capability("refer a case to the trial coordinator", ("trials.add_referral",), (ONCOLOGIST,)),
    Capability("view referrals", ("trials.view_referral",), (ONCOLOGIST, TRIAL_COORDINATOR)),
    Capability(
        "rank the team's patients for a trial (reverse matching)",
        ("trials.match_patients",),
        (TRIAL_COORDINATOR,),
    ),
    Capability(
        "work list: view, flag, move entries (not eligible needs a reason)",
        (
            "trials.view_worklistentry",
            "trials.add_worklistentry",
            "trials.change_worklistentry",
        ),
        (TRIAL_COORDINATOR,),
    ),
    Capability(
        "export the work list (CSV, formula-safe)",
        ("trials.export_worklist",),
        (TRIAL_COORDINATOR,),
    ),
    Capability(
        "saved trial searches (own)",
        ("trials.view_savedsearch", "trials.add_savedsearch", "trials.delete_savedsearch"),
        (TRIAL_COORDINATOR,),
    ),
    Capability(
        "import trials (upload) and view import reports",
        ("trials.view_trialcorpusimport", "trials.add_trialcorpusimport"),
        (ADMINISTRATOR,),
    ),
    # Model registry (the site's model committee)
    Capability(
        "view the model registry: models, state changes, shadow comparisons",
        (
            "modelregistry.view_registeredmodel",
            "modelregistry.view_modelstatechange",
            "modelregistry.view_shadowprediction",
        ),
        (ADMINISTRATOR,),
    ),
    Capability(
        "request a model's activation, shadowing or retirement, or a rollback",
        ("modelregistry.request_state_change",),
        (ADMINISTRATOR,),
    ),
    Capability(
        "approve another person's model state change (password re-entry)",
        ("modelregistry.approve_state_change",),
        (ADMINISTRATOR,),
    ),
    # Site learning
    Capability(
        "export the site's cases with outcomes as a de-identified training table (admin action)",
        ("sitelearn.view_siteoutcomecase", "sitelearn.export_training_table"),
        (ADMINISTRATOR,),
    ),
    # Cohort analytics and model monitoring (issue 20)
    Capability(
        "cohort analytics of the own teams' patients: survival curves, log-rank",
        ("cohorts.view_cohorts",),
        _CLINICIANS,
    ),
    Capability(
        "export a cohort's survival table (CSV) and figure (PNG)",
        ("cohorts.export_cohorts",),
        (ONCOLOGIST, TRIAL_COORDINATOR),
    ),
    Capability(
        "model monitoring: performance, calibration and drift by subgroup; alerts",
        ("cohorts.view_monitoring",),
        (ADMINISTRATOR,),
    ),
    # Administration
    Capability("view and filter the access audit log", ("core.view_audit",), (ADMINISTRATOR,)),
    Capability(
        "manage users, care teams and roles (`/admin/`)",
        (
            "core.view_team",
            "core.add_team",
            "core.change_team",
            "core.delete_team",
            "auth.view_user",
            "auth.add_user",
            "auth.change_user",
            "auth.view_group",
        ),
        (ADMINISTRATOR,),
    ),
    Capability("view background jobs (admin)", ("core.view_job",), (ADMINISTRATOR,)),
    Capability(
        "configure PACS connections (admin; passwords stay in the environment)",
        (
            "imaging.view_pacsconnection",
            "imaging.add_pacsconnection",
            "imaging.change_pacsconnection",
            "imaging.delete_pacsconnection",
        ),
        (ADMINISTRATOR,),
    ),
    Capability(
        'see sign-in lockouts and clear one (admin, "Access attempts")',
        ("axes.view_accessattempt", "axes.delete_accessattempt"),
        (ADMINISTRATOR,),
    ),
)

#: Each role's permissions, in the order of the capabilities above.
ROLE_PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {
    role: tuple(
        dict.fromkeys(code for row in CAPABILITIES if role in row.roles for code in row.permissions)
    )
    for role in ROLES
}


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


def permissions_table() -> str:
    """The matrix as the Markdown table of ``docs/permissions.md``."""
    header = ["capability", "permissions", *ROLES]
    lines = [
        "| " + " | ".join(header) + " |",
        "|---|---|" + ":-:|" * len(ROLES),
    ]
    for row in CAPABILITIES:
        codes = ", ".join(f"`{code}`" for code in row.permissions)
        marks = ["✓" if role in row.roles else "—" for role in ROLES]
        lines.append("| " + " | ".join([row.text, codes, *marks]) + " |")
    return "\n".join(lines) + "\n"
