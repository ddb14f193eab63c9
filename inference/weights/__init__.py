"""Shipped checkpoints with their pinned sha256 digests and model cards.

A checkpoint is only ever loaded through :func:`inference.runtime.load_checkpoint`, which refuses a
file whose digest differs from the pin below. Retraining changes the file, so the pin is updated in
the same commit as the checkpoint (``python -m inference.training.train`` prints it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ShippedCheckpoint:
    """One shipped checkpoint."""

    name: str
    filename: str
    sha256: str
    card: str
    #: What t = 0 of the survival curve is, from the training cohort's outcome definition:
    #: ``"diagnosis"`` or ``"study_entry"`` (SUPPORT counts from the third day in hospital).
    #: A curve can only be read "from today" when the record holds the date of this event.
    time_zero: str = "diagnosis"
    #: Per-cancer-type validation facts measured with this checkpoint
    #: (``<name>.per_type.json``, written by ``python -m inference.training.per_type --write``,
    #: which prints the digest) and their pin; '' for a single-cohort model.
    per_type: str = ""
    per_type_sha256: str = ""

    @property
    def path(self) -> Path:
        """Absolute path of the checkpoint file."""
        return WEIGHTS_DIR / self.filename

    @property
    def per_type_path(self) -> Path | None:
        """Absolute path of the per-type validation file, ``None`` when there is none."""
        return WEIGHTS_DIR / self.per_type if self.per_type else None


def _shipped(
    name: str, sha256: str, *, time_zero: str = "diagnosis", per_type_sha256: str = ""
) -> ShippedCheckpoint:
    """A shipped model: ``<name>.pt`` with its card ``<name>.md`` (and, pinned by
    ``per_type_sha256``, its per-cancer-type validation ``<name>.per_type.json``)."""
    per_type = f"{name}.per_type.json" if per_type_sha256 else ""
    return ShippedCheckpoint(
        name, f"{name}.pt", sha256, f"{name}.md", time_zero, per_type, per_type_sha256
    )


SHIPPED: dict[str, ShippedCheckpoint] = {
    checkpoint.name: checkpoint
    for checkpoint in (
        _shipped(
            "oncoboard-metabric", "8a5970a38fc70a03768d5a68d40a46c810dfae5fdb7ac4073046df02be2120e4"
        ),
        _shipped(
            "oncoboard-support",
            "a85d3c105eab5e08bde9af8e9f5a17dd2d2478ce076be3962d9557efe10173cc",
            time_zero="study_entry",
        ),
        _shipped(
            "oncoboard-tcga-pancancer",
            "049caf6dc302419a9436fb3e0a2106b8020d534c8a32d08a244b6c736e7bb401",
            per_type_sha256="237d79764d02bf9357657869aa40c7778e45842f68a225dce20309e9e3b4b0ee",
        ),
    )
}

DEFAULT_MODEL = "oncoboard-tcga-pancancer"

#: How each time zero reads in a sentence ("survival since ...").
TIME_ZERO_LABELS = {
    "diagnosis": "diagnosis",
    "study_entry": "study entry (day 3 of a hospital stay, as in the SUPPORT cohort)",
    "surgery": "surgery of the primary tumour",
    "randomisation": "randomisation in the training trial (no such date exists for this patient)",
}


#: Model cards of the models that are not in :data:`SHIPPED` (relative to ``WEIGHTS_DIR``).
OTHER_CARDS = {
    "oncoboard-portrait": "portrait/portrait.md",
    "oncoboard-portrait-commercial": "portrait/portrait.md",
    "oncoboard-generative": "generative/generative.md",
}


def model_card_path(model_name: str) -> Path | None:
    """The model card of a model OncoBoard ships, or None for an unknown name."""
    shipped = SHIPPED.get(model_name)
    card = shipped.card if shipped is not None else OTHER_CARDS.get(model_name)
    return WEIGHTS_DIR / card if card else None


def time_zero_of(model_name: str) -> str | None:
    """The time zero of a shipped model's curve; ``None`` for a model OncoBoard did not ship."""
    shipped = SHIPPED.get(model_name)
    return shipped.time_zero if shipped is not None else None


#: Propensity models of the what-if view (``inference.therapy.whatif``), one per model with
#: treatment inputs; pinned like the checkpoints (``python -m inference.training.propensity``
#: prints it).
PROPENSITY: dict[str, ShippedCheckpoint] = {
    "oncoboard-metabric": ShippedCheckpoint(
        name="oncoboard-metabric",
        filename="oncoboard-metabric.propensity.json",
        sha256="5c36b1a9577169e6801ee5c01ed5d94b3171e9310c551cf3ebd43fcb9facc164",
        card="oncoboard-metabric.md",
    ),
}

#: Treatment-aware models of the randomised trials and their held-out validations
#: (``inference.therapy.rct_whatif``); ``python -m inference.training.rct_train`` prints the pin.
RCT_WHATIF = ShippedCheckpoint(
    name="oncoboard-rct-whatif",
    filename="oncoboard-rct-whatif.json",
    sha256="53355995a36660dbd386fc0be4f58b4685550fab2ce490f8e2081450b17dd1d2",
    card="oncoboard-rct-whatif.md",
)
