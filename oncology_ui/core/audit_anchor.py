"""Signed checkpoints of the audit chain, kept outside the database.

An anchor is one JSON line — the row count, the id and hash of the newest row, the time — signed
with an HMAC derived from ``AUDIT_HMAC_KEY``. ``manage.py audit_anchor`` (run from cron) appends one
to ``AUDIT_ANCHOR_PATH``; ``manage.py verify_audit`` checks the chain against every anchor, so
removing the newest rows, which leaves a chain that is intact on its own, is still caught.
Each line also carries the previous line's signature, so a line removed from the middle of the
file is caught too; the file itself belongs on append-only storage (docs/audit.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from oncology_ui.core.models import audit_key

ANCHOR_FORMAT = 1


class AnchorFileError(Exception):
    """An anchor line that is malformed, unsigned, forged or out of sequence."""


@dataclass(frozen=True)
class Anchor:
    at: str
    rows: int
    head_id: int
    head_hash: str
    # The newest row still on the plain SHA-256 chain from before the key (0: none), so that
    # verification can refuse keyed rows rewritten as plain ones.
    plain_until: int
    prev_sig: str
    v: int = ANCHOR_FORMAT

    def signature(self) -> str:
        body = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hmac.new(audit_key("anchor"), body.encode(), hashlib.sha256).hexdigest()

    def to_line(self) -> str:
        return json.dumps({**asdict(self), "sig": self.signature()}, sort_keys=True) + "\n"

    def describe(self, *, last: bool = False) -> str:
        which = "the last anchor" if last else "the anchor"
        return f"{which} at {self.at} saw {self.rows} rows up to id {self.head_id}"


def _parse(line: str, number: int, prev_sig: str) -> tuple[Anchor, str]:
    try:
        data = json.loads(line)
        sig = data.pop("sig")
        anchor = Anchor(
            at=str(data["at"]),
            rows=int(data["rows"]),
            head_id=int(data["head_id"]),
            head_hash=str(data["head_hash"]),
            plain_until=int(data["plain_until"]),
            prev_sig=str(data["prev_sig"]),
            v=int(data["v"]),
        )
        datetime.fromisoformat(anchor.at)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise AnchorFileError(f"anchor line {number} is malformed ({error})") from None
    if set(data) != set(asdict(anchor)) or not isinstance(sig, str):
        raise AnchorFileError(f"anchor line {number} is malformed (unexpected fields)")
    if not hmac.compare_digest(sig, anchor.signature()):
        raise AnchorFileError(f"anchor line {number} has a bad signature (forged or edited)")
    if anchor.prev_sig != prev_sig:
        raise AnchorFileError(
            f"anchor line {number} does not follow line {number - 1} (a line was removed)"
        )
    return anchor, sig


def anchors_read(path: Path) -> list[Anchor]:
    """Every anchor in the file, oldest first; a missing file holds none.

    Raises:
        AnchorFileError: naming the first line that is malformed, forged or out of sequence.
    """
    if not path.exists():
        return []
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise AnchorFileError(f"the anchor file cannot be read ({error})") from None
    anchors: list[Anchor] = []
    prev_sig = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        anchor, prev_sig = _parse(line, number, prev_sig)
        anchors.append(anchor)
    return anchors


def anchor_append(
    path: Path, *, at: str, rows: int, head_id: int, head_hash: str, plain_until: int
) -> Anchor:
    """Append one signed anchor, chained to the file's last line, in a single O_APPEND write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: the write lands at the end whatever else writes the file; no truncation, no seek.
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        # Two cron runs at once would both chain to the same previous line; take turns.
        fcntl.flock(fd, fcntl.LOCK_EX)
        with open(path) as existing:
            lines = [line for line in existing.read().splitlines() if line.strip()]
        prev_sig = ""
        if lines:
            prev_sig = _parse(lines[-1], len(lines), json.loads(lines[-1]).get("prev_sig"))[1]
        anchor = Anchor(
            at=at,
            rows=rows,
            head_id=head_id,
            head_hash=head_hash,
            plain_until=plain_until,
            prev_sig=prev_sig,
        )
        os.write(fd, anchor.to_line().encode())
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    return anchor
