"""FHIR R4 Bundles (transaction, batch, collection, document, searchset) following mCODE.

The package reads a bundle in four steps, one module each:

1. ``jsonguard``: the bytes become JSON defensively (no duplicate keys, bounded numbers and
   nesting, XML refused).
2. ``bundle``: the envelope is read (entries, duplicate ids, ``fullUrl`` index for references).
3. ``validation``: every resource becomes a validated ``fhir.resources`` R4B model; a
   validation error becomes a problem naming the entry, the resource and the field.
4. ``reader`` hands each model to the extractor for its type (``conditions``, ``observations``
   with ``genomics`` and ``measurements``, ``treatments``), which write plain records:
   conditions, stage, performance status, tumour markers and labs, genomic variants and
   regions, medications and procedures.

Shared by the steps: ``concepts`` (readers of FHIR datatypes), ``observed`` (the Observation in
hand) and ``records`` (the plain records produced, and the context extractors share).

R4B (``fhir.resources.R4B``) rather than the package's default R5 models: mCODE and US Core,
and our fixtures, are R4, whose ``MedicationStatement.medicationCodeableConcept`` and
``Procedure.performed[x]`` R5 renamed (R5 refuses 15 of the 25 resources of
``patient_data.json``); R4B left the resources read here as R4 defines them.
"""

from __future__ import annotations

from oncology_ui.clinical.parsers.fhir.reader import parse_bundle
from oncology_ui.clinical.parsers.fhir.records import BundleContents, FactRecord

__all__ = ["BundleContents", "FactRecord", "parse_bundle"]
