"""The network of the generative model: a multimodal VAE conditioned on the cancer type.

One encoder and one decoder per modality; the posterior over the latent tumour state is the
product of Gaussian experts (the cancer type's prior expert times one expert per observed
modality), so any subset of modalities, down to none, conditions it. Likelihoods: Gaussian with a
learned per-(cancer type, feature) variance for continuous features (age, copy number, RNA),
Bernoulli for binary ones (sex, mutations). Features a cohort does not carry are masked out of
both the encoder input and the loss.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from inference.generative.data import MODALITIES

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class GenerativeConfig:
    """Architecture and training settings (stored in the checkpoint)."""

    cancer_types: tuple[str, ...]
    dims: Mapping[str, int]
    #: Per modality: which columns are binary (Bernoulli); the rest are Gaussian.
    binary: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    latent: int = 24
    hidden: int = 64
    epochs: int = 80
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-5
    #: Chance that a modality a case has is shown to the encoders in a training step.
    keep_modality: float = 0.5
    #: Chance that a shown modality is thinned to a random share of its features (panels).
    thin_modality: float = 0.25
    patience: int = 10
    #: Dropout on the encoders' inputs (regularises the cross-modal experts).
    dropout: float = 0.0
    inner_val_fraction: float = 0.15


class ModalityEncoder(nn.Module):
    """Observed values (+ the cancer type) -> a Gaussian expert.

    A missing entry reads 0: the training mean of a standardised continuous feature, and neither
    state of a binary one, which reads -1 (absent) or +1 (present).
    """

    def __init__(
        self, dim: int, n_types: int, hidden: int, latent: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.dropout = dropout
        self.net = nn.Sequential(
            nn.Linear(dim + n_types, hidden), nn.GELU(), nn.Linear(hidden, 2 * latent)
        )

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, binary: torch.Tensor, onehot: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        signal = torch.where(binary, 2.0 * x - 1.0, x)
        inputs = torch.where(mask, signal, torch.zeros_like(x))
        inputs = nn.functional.dropout(inputs, self.dropout, self.training)
        h = self.net(torch.cat([inputs, onehot], 1))
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-8.0, 8.0)


class ModalityDecoder(nn.Module):
    """latent state + cancer type -> mean (Gaussian columns) or logit (binary columns)."""

    def __init__(self, dim: int, n_types: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent + n_types, hidden), nn.GELU(), nn.Linear(hidden, dim)
        )
        #: log variance per cancer type and feature (Gaussian columns).
        self.logvar = nn.Parameter(torch.zeros(n_types, dim))

    def forward(self, z: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(torch.cat([z, onehot], -1))
        return out


class GenerativeNet(nn.Module):
    """Encoders, decoders and the per-type prior expert."""

    def __init__(self, config: GenerativeConfig) -> None:
        super().__init__()
        self.config = config
        k, h, z = len(config.cancer_types), config.hidden, config.latent
        self.encoders = nn.ModuleDict(
            {m: ModalityEncoder(config.dims[m], k, h, z, config.dropout) for m in MODALITIES}
        )
        self.decoders = nn.ModuleDict(
            {m: ModalityDecoder(config.dims[m], k, h, z) for m in MODALITIES}
        )
        self.prior_mu = nn.Parameter(torch.zeros(k, z))
        self.prior_logvar = nn.Parameter(torch.zeros(k, z))
        for m in MODALITIES:
            flags = torch.zeros(config.dims[m], dtype=torch.bool)
            flags[list(config.binary.get(m, ()))] = True
            self.register_buffer(f"binary_{m}", flags, persistent=False)

    def residual_logvar(self, modality: str, type_index: torch.Tensor) -> torch.Tensor:
        """Log variance of the Gaussian columns of a modality for each row's cancer type."""
        decoder = self.decoders[modality]
        assert isinstance(decoder, ModalityDecoder)
        return decoder.logvar[type_index].clamp(-7.0, 5.0)

    def is_binary(self, modality: str) -> torch.Tensor:
        flags: torch.Tensor = getattr(self, f"binary_{modality}")
        return flags

    def posterior(
        self,
        values: Mapping[str, torch.Tensor],
        masks: Mapping[str, torch.Tensor],
        shown: Mapping[str, torch.Tensor],
        type_index: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Product of the prior expert and the experts of the shown modalities.

        Args:
            values, masks: per modality (N, d) standardised values and observed flags.
            shown: per modality (N,) bool, whether the modality's expert joins for that row.
            type_index: (N,) cancer-type index.

        Returns:
            (mu, logvar) of the Gaussian posterior, each (N, latent).
        """
        onehot = nn.functional.one_hot(type_index, len(self.config.cancer_types)).float()
        precision = torch.exp(-self.prior_logvar[type_index].clamp(-6.0, 6.0))
        weighted = self.prior_mu[type_index] * precision
        for m in MODALITIES:
            if m not in values:
                continue
            mu, logvar = self.encoders[m](values[m], masks[m], self.is_binary(m), onehot)
            p = torch.exp(-logvar) * shown[m].float().unsqueeze(1)
            precision = precision + p
            weighted = weighted + mu * p
        var = 1.0 / precision
        return weighted * var, torch.log(var)

    def decode(
        self, z: torch.Tensor, type_index: torch.Tensor, only: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Decoder outputs per modality (default all) for latent draws ``z`` (..., latent)."""
        onehot = nn.functional.one_hot(type_index, len(self.config.cancer_types)).float()
        onehot = onehot.expand(*z.shape[:-1], onehot.shape[-1])
        return {m: self.decoders[m](z, onehot) for m in MODALITIES if only is None or m in only}

    def nll(
        self,
        modality: str,
        out: torch.Tensor,
        x: torch.Tensor,
        mask: torch.Tensor,
        type_index: torch.Tensor,
    ) -> torch.Tensor:
        """Masked negative log-likelihood per row (N,)."""
        binary = self.is_binary(modality)
        logvar = self.residual_logvar(modality, type_index)
        target = torch.where(mask, x, torch.zeros_like(x))
        gauss = 0.5 * (LOG_2PI + logvar + (target - out) ** 2 * torch.exp(-logvar))
        bern = nn.functional.binary_cross_entropy_with_logits(out, target, reduction="none")
        per = torch.where(binary, bern, gauss)
        return torch.where(mask, per, torch.zeros_like(per)).sum(1)


def kl_to_prior(
    mu: torch.Tensor, logvar: torch.Tensor, prior_mu: torch.Tensor, prior_logvar: torch.Tensor
) -> torch.Tensor:
    """KL(N(mu, var) || N(prior_mu, prior_var)) per row."""
    return 0.5 * (
        prior_logvar
        - logvar
        + (torch.exp(logvar) + (mu - prior_mu) ** 2) / torch.exp(prior_logvar)
        - 1.0
    ).sum(1)
