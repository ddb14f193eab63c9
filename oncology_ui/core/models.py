"""Care teams, background jobs and the access audit log."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django_otp.models import Device


def audit_key(purpose: str) -> bytes:
    """A key for one use of ``AUDIT_HMAC_KEY`` (rows or anchors), so one never signs the other."""
    return hmac.new(
        settings.AUDIT_HMAC_KEY.encode(), f"oncoboard-audit-{purpose}".encode(), hashlib.sha256
    ).digest()


class Team(models.Model):
    """A care team. Users see only the patients of the teams they belong to."""

    name = models.CharField(max_length=120, unique=True)
    description = models.CharField(max_length=300, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="care_teams", blank=True
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Job(models.Model):
    """One background job: the row is its state; RQ or the in-process executor only runs it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=60)
    # The target is named by model label and primary key so any app's rows can have jobs.
    target_model = models.CharField(max_length=100)
    target_id = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    result = models.JSONField(default=dict, blank=True)
    rq_job_id = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["target_model", "target_id"]),
            models.Index(fields=["status"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED}


class AccessLog(models.Model):
    """Append-only record of who touched which patient's data, chained by keyed hashes.

    Each row stores the hash of the previous row, so an edited or deleted row breaks the chain
    from that point on (``manage.py verify_audit`` names it). The hash is an HMAC with
    ``AUDIT_HMAC_KEY``, which the database never holds, so a database superuser who rewrites rows
    cannot recompute it; signed anchors outside the database catch removal of the newest rows
    (``oncology_ui.core.audit_anchor``, docs/audit.md). On PostgreSQL a trigger also refuses
    UPDATE, DELETE and TRUNCATE from the application.
    """

    class Action(models.TextChoices):
        VIEW = "view", "View"
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"
        EXPORT = "export", "Export"
        PRINT = "print", "Print"
        DENIED = "denied", "Access denied"
        LOGIN = "login", "Log in"
        LOGOUT = "logout", "Log out"
        LOGIN_FAILED = "login_failed", "Failed log in"
        LOCKED_OUT = "locked_out", "Locked out"
        UNLOCKED = "unlocked", "Lock cleared"
        PASSWORD_CHANGE = "password_change", "Password changed"
        SESSIONS_ENDED = "sessions_ended", "Sessions ended"
        MFA_ENROL = "mfa_enrol", "Second factor enrolled"
        MFA_VERIFY = "mfa_verify", "Second factor verified"
        MFA_FAILED = "mfa_failed", "Second factor refused"
        BREAK_GLASS = "break_glass", "Break-glass access opened"
        REVIEW = "review", "Review"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        DENIED = "denied", "Denied"
        FAILURE = "failure", "Failure"

    class ChainVersion(models.IntegerChoices):
        # Rows written before the chain was keyed keep their plain SHA-256 so they still verify;
        # verification accepts them only as the oldest rows and only under a signed anchor.
        PLAIN_SHA256 = 1, "SHA-256 (before the key)"
        HMAC_SHA256 = 2, "HMAC-SHA-256"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user_id_snapshot = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    patient_id_snapshot = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    category = models.CharField(max_length=40)
    object_ref = models.CharField(max_length=80, blank=True)
    route = models.CharField(max_length=80, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64, unique=True)
    chain_version = models.PositiveSmallIntegerField(
        choices=ChainVersion.choices, default=ChainVersion.HMAC_SHA256
    )
    # The access was possible only through a break-glass grant (see BreakGlassAccess).
    break_glass = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        permissions = [("view_audit", "Can view and filter the access audit")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.category}"

    def canonical_payload(self) -> dict[str, Any]:
        at = self.at.astimezone(UTC) if self.at.tzinfo else self.at
        payload: dict[str, Any] = {
            "at": at.isoformat(timespec="microseconds"),
            "user": self.user_id_snapshot,
            "username": self.username,
            "patient": self.patient_id_snapshot,
            "action": self.action,
            "category": self.category,
            "object": self.object_ref,
            "route": self.route,
            "ip": self.source_ip,
            "outcome": self.outcome,
            "prev": self.prev_hash,
        }
        if self.break_glass:
            # Only when set, so rows written before the flag existed keep their hashes; setting
            # or clearing it on any row breaks that row's hash.
            payload["break_glass"] = True
        return payload

    def compute_hash(self) -> str:
        """The hash this row's chain version calls for (keyed unless the row predates the key)."""
        payload = self.canonical_payload()
        if self.chain_version == self.ChainVersion.PLAIN_SHA256:
            body = json.dumps(payload, sort_keys=True, separators=(",", ":"))
            return hashlib.sha256(body.encode()).hexdigest()
        # The version is inside the keyed body, so flipping it changes what the key must sign.
        payload["v"] = self.chain_version
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hmac.new(audit_key("row"), body.encode(), hashlib.sha256).hexdigest()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValidationError("Audit rows are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValidationError("Audit rows are append-only and cannot be deleted.")


class SecurityKeyDevice(Device):
    """A security key or passkey (WebAuthn credential) as a django-otp second-factor device.

    As a django-otp device it counts for enrolment and marks a session verified like an
    authenticator app; it never matches a typed code (``verify_token`` stays False).
    """

    credential_id: models.CharField[str, str] = models.CharField(
        max_length=1400, unique=True
    )  # base64url, as browsers send
    credential_data: models.BinaryField[bytes, bytes] = (
        models.BinaryField()
    )  # fido2 AttestedCredentialData: id, algorithm, key
    sign_count: models.PositiveBigIntegerField[int, int] = models.PositiveBigIntegerField(default=0)
    created_at: models.DateTimeField[Any, Any] = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "security key or passkey"


class BreakGlassAccess(models.Model):
    """Emergency access to a patient outside the user's care teams.

    A reason is required; the grant lasts ``BREAK_GLASS_MINUTES``; while it does, the patient's
    records are visible to the user (``TeamScopedQuerySet.visible_to``) and every audited
    access to them carries ``break_glass``. An administrator reviews each grant afterwards.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="break_glass_grants"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, related_name="break_glass_grants"
    )
    reason = models.TextField()
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"break-glass #{self.pk}: user {self.user_id} -> patient {self.patient_id}"

    @property
    def is_active(self) -> bool:
        return self.expires_at > timezone.now()
