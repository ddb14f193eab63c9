"""The trained generative model: imputation with samples, in-silico interventions, checkpoints.

Everything here takes and returns values on the table's scale (age in years, is_female 0/1,
mutations 0/1, GISTIC copy-number calls, RNA z-scores); standardisation is internal. Sampling is
seeded: the same inputs and seed give the same samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference.generative.data import MODALITIES, ONCOTREE_COHORT, FloatArray, MultiOmicsTable
from inference.generative.intervention import KEY as INTERVENTION_KEY
from inference.generative.intervention import penalised_shift
from inference.generative.linear import LinearGaussian, joint_features
from inference.generative.network import GenerativeConfig, GenerativeNet
from inference.hallmarks.gene_sets import hallmark_membership
from inference.runtime import eval_mode, load_checkpoint, sha256_of

FORMAT = "oncoboard-generative/1"
NAME = "oncoboard-generative"
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights" / "generative"
SHIPPED_PATH = WEIGHTS_DIR / "generative.pt"
CARD_PATH = WEIGHTS_DIR / "generative.md"
#: Pinned digest of the committed checkpoint (updated by whoever retrains and commits it;
#: ``python -m inference.training.generative_train`` prints it).
SHIPPED_SHA256 = "136db63c92b97c7ac5fde2e0ec2a46366786ace4420381813bfce5272aa6c92c"
#: Order in which modalities are taken to act on one another in an intervention: a change
#: keeps what comes before it (and itself) as conditions and re-samples what comes after.
UPSTREAM_ORDER: tuple[str, ...] = ("clinical", "mutation", "cnv", "rna")
HALLMARK = "hallmark"

Observed = Mapping[str, np.ndarray]
Samples = dict[str, FloatArray]


class UntrainedTypeError(ValueError):
    """The model was not trained on the requested cancer type."""


@dataclass(frozen=True)
class Standardiser:
    """Per-feature centre and scale of each modality (binary columns: 0 and 1)."""

    center: Mapping[str, FloatArray]
    scale: Mapping[str, FloatArray]

    def forward(self, modality: str, x: FloatArray) -> FloatArray:
        out: FloatArray = (x - self.center[modality]) / self.scale[modality]
        return out

    def inverse(self, modality: str, x: FloatArray) -> FloatArray:
        out: FloatArray = x * self.scale[modality] + self.center[modality]
        return out


@dataclass
class GenerativeModel:
    """A trained generative model with what serving needs around it.

    Attributes:
        config: architecture (cancer types are cohort keys such as ``"brca"``).
        net: the network, in eval mode.
        names: feature names per modality.
        standardiser: per-feature scaling.
        carried: per modality (types x features) bool: the type's training data held the feature.
        calibration: multiplier of the residual scale per modality (and ``"hallmark"``), fitted on
            an inner validation part of the training data so 80% intervals cover 80%.
        validation: facts measured when training (for the model card).
        weights_sha256: digest of the checkpoint file ('' for an unsaved model).
    """

    config: GenerativeConfig
    net: GenerativeNet
    names: Mapping[str, tuple[str, ...]]
    standardiser: Standardiser
    carried: Mapping[str, np.ndarray]
    calibration: dict[str, float] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    weights_sha256: str = ""
    #: Residual factor model per modality (``inference.generative.residuals``): loadings
    #: (d x rank) and uniqueness (d); a modality without one draws independent residuals.
    factors: dict[str, FloatArray] = field(default_factory=dict)
    uniqueness: dict[str, FloatArray] = field(default_factory=dict)
    #: Linear-Gaussian component (``inference.generative.linear``) that draws copy number and
    #: RNA given every measured feature; None in checkpoints without it.
    linear: LinearGaussian | None = None

    @property
    def version(self) -> str:
        return f"{NAME}/{self.weights_sha256[:12] or 'unsaved'}"

    # ---------------------------------------------------------------- cancer types
    def type_index(self, cancer_type: str) -> int:
        """Index of a cohort key or OncoTree code; refuses a type the model was not trained on."""
        key = str(cancer_type).strip()
        cohort = key.lower() if key.lower() in self.config.cancer_types else None
        if cohort is None:
            cohort = ONCOTREE_COHORT.get(key.upper())
        if cohort is None or cohort not in self.config.cancer_types:
            trained = ", ".join(c.upper() for c in self.config.cancer_types)
            raise UntrainedTypeError(
                f"the generative model was not trained on cancer type {key or '(blank)'!r}; "
                f"it covers the TCGA cohorts {trained}"
            )
        return self.config.cancer_types.index(cohort)

    def carried_mask(self, modality: str, type_indices: np.ndarray) -> np.ndarray:
        """(N, d) bool: which features the model learnt for each row's cancer type."""
        mask: np.ndarray = self.carried[modality][type_indices]
        return mask

    def arrays_of(
        self, table: MultiOmicsTable, rows: np.ndarray, modalities: Sequence[str] = MODALITIES
    ) -> dict[str, FloatArray]:
        """A table's rows on the model's feature order (NaN for features the table lacks), for
        tables loaded with other cohorts (and so another union of genes) than the model's."""
        out: dict[str, FloatArray] = {}
        for m in modalities:
            source = {g: j for j, g in enumerate(table.names(m))}
            x = np.full((len(rows), self.config.dims[m]), np.nan)
            pairs = [(i, source[g]) for i, g in enumerate(self.names[m]) if g in source]
            if pairs:
                target, columns = (list(p) for p in zip(*pairs, strict=True))
                x[:, target] = table.modality(m)[np.asarray(rows)][:, columns]
            out[m] = x
        return out

    # ---------------------------------------------------------------- sampling
    def _inputs(
        self, observed: Observed, n: int
    ) -> tuple[dict[str, FloatArray], dict[str, np.ndarray]]:
        raw: dict[str, FloatArray] = {}
        masks: dict[str, np.ndarray] = {}
        for m in MODALITIES:
            d = self.config.dims[m]
            given = observed.get(m)
            x = np.full((n, d), np.nan) if given is None else np.asarray(given, dtype=np.float64)
            if x.shape != (n, d):
                raise ValueError(f"{m}: expected shape ({n}, {d}), got {x.shape}")
            raw[m] = x
            masks[m] = ~np.isnan(x)
        return raw, masks

    def _sample(
        self,
        observed: Observed,
        types: np.ndarray,
        n_samples: int,
        seed: int,
        only: Sequence[str] | None = None,
    ) -> Samples:
        n = len(types)
        raw, masks = self._inputs(observed, n)
        generator = torch.Generator().manual_seed(int(seed))
        t_types = torch.as_tensor(types, dtype=torch.long)
        with eval_mode(self.net):
            values = {
                m: torch.as_tensor(
                    np.nan_to_num(self.standardiser.forward(m, raw[m])), dtype=torch.float32
                )
                for m in MODALITIES
            }
            t_masks = {m: torch.as_tensor(masks[m]) for m in MODALITIES}
            shown = {m: t_masks[m].any(1) for m in MODALITIES}
            mu, logvar = self.net.posterior(values, t_masks, shown, t_types)
            eps = torch.randn((n_samples, *mu.shape), generator=generator)
            z = mu + torch.exp(0.5 * logvar) * eps
            outs = self.net.decode(z, t_types, only)
            linear = self._linear_factors(raw, types, n_samples, seed)
            samples: Samples = {}
            for position, m in enumerate(MODALITIES):
                if only is not None and m not in only:
                    continue
                # One stream per modality: a modality's draws do not depend on which others
                # were asked for.
                stream = torch.Generator().manual_seed(int(seed) * 7919 + position + 1)
                out = outs[m]
                binary = self.net.is_binary(m)
                sd = torch.exp(0.5 * self.net.residual_logvar(m, t_types))
                noise = torch.randn(out.shape, generator=stream)
                if m in self.factors:
                    shared = self._shared_factors(m, out, values[m], t_masks[m], sd, stream)
                    noise = shared @ self._loadings(m)[0].T + self._loadings(m)[1] * noise
                gauss = out + self.calibration.get(m, 1.0) * sd * noise
                if linear is not None and m in linear[0]:
                    gauss = self._linear_draw(m, types, linear, stream)
                uniform = torch.rand(out.shape, generator=stream)
                bern = (uniform < torch.sigmoid(out)).float()
                draw = torch.where(binary, bern, gauss).numpy().astype(np.float64)
                draw = self.standardiser.inverse(m, draw)
                draw = np.where(self.carried_mask(m, types)[None], draw, np.nan)
                samples[m] = np.where(masks[m][None], raw[m][None], draw)
        return samples

    def _linear_factors(
        self, raw: dict[str, FloatArray], types: np.ndarray, n_samples: int, seed: int
    ) -> tuple[tuple[str, ...], FloatArray, FloatArray] | None:
        """Factor draws (S, N, rank) of the linear-Gaussian component given every measured
        feature, and their conditional mean; one stream of its own, shared by the modalities
        it draws so copy number and RNA stay jointly coherent."""
        if self.linear is None:
            return None
        z = joint_features(
            {m: self.standardiser.forward(m, raw[m]) for m in MODALITIES},
            len(types),
            self.config.dims,
        )
        f_mean, f_chol = self.linear.conditional(z, types)
        rng = np.random.default_rng(int(seed) * 7919 + 97)
        eps = antithetic(rng.standard_normal((n_samples, *f_mean.shape)))
        f = f_mean[None] + (f_chol[None] @ eps[..., None])[..., 0]  # (S, N, rank)
        return self.linear.drawn, f, f_mean

    def _linear_draw(
        self,
        modality: str,
        types: np.ndarray,
        linear: tuple[tuple[str, ...], FloatArray, FloatArray],
        stream: torch.Generator,
    ) -> torch.Tensor:
        assert self.linear is not None
        _, f, f_mean = linear
        noise = torch.randn((*f.shape[:2], self.config.dims[modality]), generator=stream)
        noise = torch.as_tensor(antithetic(noise.numpy()))
        widen = self.calibration.get(modality, 1.0)
        draw = self.linear.draw(modality, types, f, noise.numpy().astype(np.float64), f_mean, widen)
        return torch.as_tensor(draw, dtype=torch.float32)

    def _loadings(self, modality: str) -> tuple[torch.Tensor, torch.Tensor]:
        w = torch.as_tensor(self.factors[modality], dtype=torch.float32)
        u = torch.as_tensor(self.uniqueness[modality], dtype=torch.float32).clamp(min=0.05)
        return w, u

    def _shared_factors(
        self,
        modality: str,
        out: torch.Tensor,
        values: torch.Tensor,
        mask: torch.Tensor,
        sd: torch.Tensor,
        stream: torch.Generator,
    ) -> torch.Tensor:
        """Residual factors (S, N, rank), conditioned on the modality's measured entries.

        Given a draw's decoded mean, the measured entries' standardised residuals r_o =
        W_o f + u_o e give f | r_o Gaussian with precision I + W_o' U_o^-2 W_o; with nothing
        measured that is the standard normal.
        """
        w, u = self._loadings(modality)
        rank = w.shape[1]
        weight = mask.float() / u**2  # (N, d)
        precision = torch.eye(rank) + torch.einsum("dr,nd,dq->nrq", w, weight, w)
        cov = torch.linalg.inv(precision)
        cov = (cov + cov.transpose(1, 2)) / 2
        resid = torch.where(mask, (values - out) / sd, torch.zeros_like(out))  # (S, N, d)
        b = torch.einsum("and,dr->anr", resid * weight, w)
        mean = torch.einsum("nrq,anq->anr", cov, b)
        chol = torch.linalg.cholesky(cov)
        eps = torch.randn((*out.shape[:-1], rank), generator=stream)
        return mean + torch.einsum("nrq,anq->anr", chol, eps)

    def _types(self, cancer_type: Sequence[str]) -> np.ndarray:
        return np.array([self.type_index(t) for t in cancer_type], dtype=np.int64)

    def impute(
        self,
        observed: Observed,
        cancer_type: Sequence[str],
        n_samples: int,
        seed: int,
        *,
        only: Sequence[str] | None = None,
    ) -> Samples:
        """Samples of every modality given what is observed.

        Args:
            observed: per modality (N, d) on the table's scale, NaN where missing; a modality
                absent from the mapping is missing for every row.
            cancer_type: (N,) cohort keys or OncoTree codes.
            n_samples: draws per row.
            seed: the same seed gives the same samples.
            only: the modalities to return (default all; the draws of a modality do not
                depend on this choice).

        Returns:
            per modality (n_samples, N, d); observed entries unchanged in every sample; NaN for
            features the model never learnt for the row's cancer type (UCEC RNA, for example).
        """
        unknown = set(observed) - set(MODALITIES)
        if unknown:
            raise ValueError(f"unknown modalities {sorted(unknown)}; known: {MODALITIES}")
        if n_samples < 1:
            raise ValueError("n_samples must be at least 1")
        return self._sample(observed, self._types(cancer_type), n_samples, seed, only)

    def intervene(
        self,
        observed: Observed,
        cancer_type: Sequence[str],
        *,
        modality: str,
        feature: str,
        value: float,
        n_samples: int,
        seed: int,
    ) -> tuple[Samples, Samples]:
        """Samples before and after an in-silico change.

        ``modality`` ``"mutation"``/``"cnv"``/``"rna"``/``"clinical"`` sets ``feature`` to
        ``value``; ``modality="hallmark"`` shifts every measured-or-imputed member gene of the
        hallmark set ``feature`` by ``value`` (z units; negative = inhibition). The change keeps the
        case's modalities upstream of it (clinical -> mutation -> copy number -> RNA) as
        conditions and re-samples the rest; before and after share the seed, so their difference
        is the effect of the change, not sampling noise.
        """
        types = self._types(cancer_type)
        n = len(types)
        raw, _ = self._inputs(observed, n)
        if modality == HALLMARK:
            return self._inhibit(raw, types, feature, value, n_samples, seed)
        if modality not in MODALITIES:
            raise ValueError(f"unknown modality {modality!r}")
        names = self.names[modality]
        if feature not in names:
            raise ValueError(f"the model has no {modality} feature {feature!r}")
        column = names.index(feature)
        if not self.carried[modality][types, column].all():
            raise ValueError(
                f"the model never saw {feature} ({modality}) in this cancer type's training data"
            )
        keep = UPSTREAM_ORDER[: UPSTREAM_ORDER.index(modality) + 1]
        before = {m: raw[m] for m in keep}
        after = {m: raw[m].copy() for m in keep}
        after[modality][:, column] = value
        drawn_before = self._sample(before, types, n_samples, seed)
        drawn_after = self._sample(after, types, n_samples, seed)
        # Experiments may use a larger ridge penalty than imputation (chosen on validation,
        # ``inference.generative.intervention``); the profiles before stay the imputation's.
        penalty = self.calibration.get(INTERVENTION_KEY, 1.0)
        if self.linear is not None and penalty != 1.0:
            redrawn = [m for m in self.linear.drawn if m not in keep]
            for m, shift in penalised_shift(self, before, after, types, redrawn, penalty).items():
                drawn_after[m] = drawn_before[m] + shift[None]
        return drawn_before, drawn_after

    def _inhibit(
        self,
        raw: dict[str, FloatArray],
        types: np.ndarray,
        hallmark: str,
        shift: float,
        n_samples: int,
        seed: int,
    ) -> tuple[Samples, Samples]:
        membership = hallmark_membership(self.names["rna"])
        if hallmark not in membership.names:
            raise ValueError(f"no hallmark set {hallmark!r} with enough genes in the model")
        members = list(membership.columns[membership.names.index(hallmark)])
        if not self.carried["rna"][types][:, members].any(1).all():
            raise ValueError("the model has no RNA for this cancer type; it cannot inhibit it")
        upstream = {m: raw[m] for m in ("clinical", "mutation", "cnv")}
        # Member expression as measured, else the mean of samples given the upstream data.
        expected = self._sample({**upstream, "rna": raw["rna"]}, types, n_samples, seed)["rna"]
        base = np.nanmean(expected[:, :, members], axis=0)
        rna_before = np.full_like(raw["rna"], np.nan)
        rna_before[:, members] = base
        rna_after = rna_before.copy()
        rna_after[:, members] = base + shift
        return (
            self._sample({**upstream, "rna": rna_before}, types, n_samples, seed),
            self._sample({**upstream, "rna": rna_after}, types, n_samples, seed),
        )


def antithetic(eps: np.ndarray) -> np.ndarray:
    """Standard normal draws (S, ...) in mirrored pairs (the second half is minus the first), so
    each draw keeps its distribution while the mean of an even number of draws is exactly the
    conditional mean (Monte Carlo variance reduction; with odd S the last draw is unpaired)."""
    half = eps.shape[0] // 2
    out = eps.copy()
    out[half : 2 * half] = -eps[:half]
    return out


# -------------------------------------------------------------------- checkpoints
def _tensor(a: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype)


def checkpoint_of(model: GenerativeModel) -> dict[str, Any]:
    """A weights-only checkpoint dictionary (float16 weights keep the file to a few MB)."""
    c = model.config
    return {
        "format": FORMAT,
        "config": {
            "cancer_types": list(c.cancer_types),
            "dims": dict(c.dims),
            "binary": {m: list(v) for m, v in c.binary.items()},
            "latent": c.latent,
            "hidden": c.hidden,
            "epochs": c.epochs,
            "batch_size": c.batch_size,
            "lr": c.lr,
            "weight_decay": c.weight_decay,
            "keep_modality": c.keep_modality,
            "thin_modality": c.thin_modality,
            "patience": c.patience,
            "inner_val_fraction": c.inner_val_fraction,
            "dropout": c.dropout,
        },
        "state": {k: v.detach().to(torch.float16) for k, v in model.net.state_dict().items()},
        "names": {m: list(v) for m, v in model.names.items()},
        "center": {m: _tensor(v) for m, v in model.standardiser.center.items()},
        "scale": {m: _tensor(v) for m, v in model.standardiser.scale.items()},
        "carried": {m: _tensor(v, torch.bool) for m, v in model.carried.items()},
        "calibration": dict(model.calibration),
        "validation": model.validation,
        "factors": {m: _tensor(v, torch.float16) for m, v in model.factors.items()},
        "uniqueness": {m: _tensor(v, torch.float16) for m, v in model.uniqueness.items()},
        **({} if model.linear is None else {"linear": linear_payload(model.linear)}),
    }


def linear_payload(lg: LinearGaussian) -> dict[str, Any]:
    return {
        "mean": _tensor(lg.mean, torch.float16),
        "loadings": _tensor(lg.loadings, torch.float16),
        "psi": _tensor(lg.psi, torch.float16),
        "dims": dict(lg.dims),
        "drawn": list(lg.drawn),
        **({} if lg.spread is None else {"spread": _tensor(lg.spread, torch.float16)}),
        **({} if lg.shared is None else {"shared": _tensor(lg.shared, torch.float16)}),
    }


def linear_from_payload(raw: Mapping[str, Any] | None) -> LinearGaussian | None:
    if raw is None:
        return None
    as_np = lambda t: t.numpy().astype(np.float64)  # noqa: E731
    return LinearGaussian(
        as_np(raw["mean"]),
        as_np(raw["loadings"]),
        as_np(raw["psi"]),
        {m: int(v) for m, v in raw["dims"].items()},
        tuple(raw["drawn"]),
        None if raw.get("spread") is None else as_np(raw["spread"]),
        None if raw.get("shared") is None else as_np(raw["shared"]),
    )


def save_generative(model: GenerativeModel, path: Path) -> str:
    """Write the checkpoint and return its sha256 (the pin to commit with it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint_of(model), path)
    model.weights_sha256 = sha256_of(path)
    return model.weights_sha256


def model_from_payload(raw: Mapping[str, Any], digest: str) -> GenerativeModel:
    """Rebuild a model from a checkpoint dictionary."""
    if raw.get("format") != FORMAT:
        raise ValueError("not a generative-model checkpoint")
    cfg = raw["config"]
    config = GenerativeConfig(
        cancer_types=tuple(cfg["cancer_types"]),
        dims={m: int(v) for m, v in cfg["dims"].items()},
        binary={m: tuple(int(i) for i in v) for m, v in cfg["binary"].items()},
        dropout=float(cfg.get("dropout", 0.0)),
        **{
            k: cfg[k]
            for k in (
                "latent",
                "hidden",
                "epochs",
                "batch_size",
                "lr",
                "weight_decay",
                "keep_modality",
                "thin_modality",
                "patience",
                "inner_val_fraction",
            )  # fmt: skip
        },
    )
    net = GenerativeNet(config)
    net.load_state_dict({k: v.to(torch.float32) for k, v in raw["state"].items()})
    as_np = lambda t: t.numpy().astype(np.float64)  # noqa: E731
    return GenerativeModel(
        config=config,
        net=net.eval(),
        names={m: tuple(v) for m, v in raw["names"].items()},
        standardiser=Standardiser(
            {m: as_np(v) for m, v in raw["center"].items()},
            {m: as_np(v) for m, v in raw["scale"].items()},
        ),
        carried={m: v.numpy().astype(bool) for m, v in raw["carried"].items()},
        calibration={k: float(v) for k, v in raw["calibration"].items()},
        validation=dict(raw["validation"]),
        weights_sha256=digest,
        factors={m: as_np(v) for m, v in raw.get("factors", {}).items()},
        uniqueness={m: as_np(v) for m, v in raw.get("uniqueness", {}).items()},
        linear=linear_from_payload(raw.get("linear")),
    )


def load_generative(
    path: Path | None = None, *, expected_sha256: str | None = None
) -> GenerativeModel:
    """Load a checkpoint, refusing one whose sha256 differs from its pin.

    Args:
        path: a checkpoint; ``None`` loads the shipped one against its pinned digest.
        expected_sha256: the pin for ``path`` (``None`` only for a site-trained file whose
            digest the caller recorded elsewhere).

    Raises:
        inference.runtime.CheckpointError: missing file, digest mismatch, not weights-only.
    """
    if path is None:
        path, expected_sha256 = SHIPPED_PATH, SHIPPED_SHA256
    raw = load_checkpoint(Path(path), expected_sha256=expected_sha256)
    return model_from_payload(raw, sha256_of(Path(path)))
