"""The Bundle envelope: its type, its entries, and the index that resolves references.

The envelope is read from the JSON rather than validated as one ``Bundle`` model: a model of the
whole bundle fails on the first bad resource with one error for all, whereas each entry here is
validated alone (``validation``) so that every problem names its entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oncology_ui.clinical.parsers import ImportRejected, Limits, Problem, ProblemLog
from oncology_ui.clinical.parsers.fhir.validation import CheckedResource, check_resource

BUNDLE_TYPES = {"transaction", "batch", "collection", "document", "searchset"}


@dataclass(frozen=True)
class Entry:
    """One resource of the bundle, as sent."""

    where: str
    resource: dict[str, Any]

    @property
    def resource_type(self) -> str:
        return str(self.resource["resourceType"])

    def check(self) -> CheckedResource:
        """Validate the resource.

        Each call validates anew: keeping every model of a large bundle costs memory and
        garbage-collector time, and only the Patient and a referenced Medication are asked twice.
        """
        return check_resource(self.where, self.resource)


class BundleIndex:
    """The bundle's entries in order, and their ``fullUrl`` and ``Type/id`` for references."""

    def __init__(self, document: dict[str, Any], limits: Limits, log: ProblemLog) -> None:
        _check_envelope(document)
        entries = document.get("entry", [])
        if not isinstance(entries, list):
            raise ImportRejected([Problem("Bundle.entry", "must be a list of entries.")])
        if len(entries) > limits.max_rows:
            raise ImportRejected(
                [Problem("Bundle.entry", f"has more than {limits.max_rows:,} resources.")]
            )
        self.log = log
        self.entries: list[Entry] = []
        self.by_url: dict[str, Entry] = {}
        self.by_ref: dict[str, Entry] = {}
        for number, item in enumerate(entries, start=1):
            self._add(f"entry {number}", item)

    def _add(self, where: str, item: Any) -> None:
        if not isinstance(item, dict) or not isinstance(item.get("resource"), dict):
            self.log.add(where, "has no resource.")
            return
        resource = item["resource"]
        kind = resource.get("resourceType")
        if not isinstance(kind, str):
            self.log.add(where, "the resource has no resourceType.")
            return
        identity = f"{kind}/{resource.get('id')}" if resource.get("id") else ""
        entry = Entry(f"{where} ({identity or kind})", resource)
        if identity in self.by_ref:
            if self.by_ref[identity].resource == resource:
                self.log.warn(entry.where, "appears more than once; imported once.")
            else:
                self.log.add(
                    entry.where,
                    "another resource in the bundle has the same type and id but different "
                    "content.",
                )
            return
        if identity:
            self.by_ref[identity] = entry
        self._index_full_url(entry, item.get("fullUrl"))
        self.entries.append(entry)

    def _index_full_url(self, entry: Entry, full_url: Any) -> None:
        if not isinstance(full_url, str) or not full_url:
            return
        if full_url in self.by_url:
            self.log.warn(
                entry.where,
                f"its fullUrl {full_url[:60]} is also used by an earlier entry; references "
                "to it resolve to the earlier one.",
            )
        else:
            self.by_url[full_url] = entry

    def resolve(self, reference: str | None) -> Entry | None:
        """The entry a reference points to: by ``fullUrl``, ``Type/id``, or an absolute URL."""
        if not reference:
            return None
        return (
            self.by_url.get(reference)
            or self.by_ref.get(reference)
            or self.by_ref.get("/".join(reference.rsplit("/", 2)[-2:]))
        )

    def of_type(self, resource_type: str) -> list[Entry]:
        return [e for e in self.entries if e.resource_type == resource_type]


def _check_envelope(document: dict[str, Any]) -> None:
    if document.get("resourceType") != "Bundle":
        found = str(document.get("resourceType", "nothing"))[:40]
        raise ImportRejected(
            [Problem("file", f"resourceType is “{found}”; OncoBoard imports a FHIR Bundle.")]
        )
    kind = document.get("type")
    if not isinstance(kind, str) or kind not in BUNDLE_TYPES:
        raise ImportRejected(
            [
                Problem(
                    "Bundle.type",
                    f"“{str(kind)[:30]}” is not one of {', '.join(sorted(BUNDLE_TYPES))}.",
                )
            ]
        )
