"""Tile encoders: colour deconvolution, morphology features, torch checkpoints."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from inference.slides.encoders import MORPHOLOGY_FEATURES, MorphologyEncoder, rgb_to_hed
from inference.slides.torch_encoders import (
    TorchEncoderConfig,
    build_encoder_model,
    load_torch_encoder,
    save_encoder_checkpoint,
)

TINY_CNN = TorchEncoderConfig(arch="cnn", image_size=64, widths=(8, 16, 16, 32))
TINY_VIT = TorchEncoderConfig(arch="vit", image_size=64, embed_dim=48, depth=2, num_heads=3)


def _tile_with_nuclei(n: int, radius: int = 5, size: int = 256, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), (226, 148, 190))
    draw = ImageDraw.Draw(img)
    centres: list[tuple[int, int]] = []
    while len(centres) < n:
        c = (int(rng.integers(10, size - 10)), int(rng.integers(10, size - 10)))
        if all((c[0] - a) ** 2 + (c[1] - b) ** 2 > (3 * radius) ** 2 for a, b in centres):
            centres.append(c)
            draw.ellipse((c[0] - radius, c[1] - radius, c[0] + radius, c[1] + radius),
                         fill=(70, 40, 130))  # fmt: skip
    return np.asarray(img)


def test_hematoxylin_colour_deconvolves_to_hematoxylin() -> None:
    hed = rgb_to_hed(np.array([[[70, 40, 130], [240, 160, 200], [255, 255, 255]]], np.uint8))
    assert hed[0, 0, 0] > hed[0, 0, 1]  # purple nucleus: more H than E
    assert hed[0, 1, 1] > hed[0, 1, 0]  # pink stroma: more E than H
    assert np.allclose(hed[0, 2], 0.0, atol=1e-3)  # white glass: no stain


def test_morphology_counts_nuclei_and_measures_their_size() -> None:
    encoder = MorphologyEncoder()
    tiles = np.stack([_tile_with_nuclei(12), _tile_with_nuclei(40, seed=1)])
    feats = encoder.encode(tiles, mpp=0.5)
    names = list(MORPHOLOGY_FEATURES)
    assert feats.shape == (2, encoder.dim) and feats.dtype == np.float32
    area_mm2 = (256 * 0.5 / 1000) ** 2
    density = feats[:, names.index("nuclei_per_mm2")]
    assert density[0] == pytest.approx(12 / area_mm2, rel=0.1)
    assert density[1] == pytest.approx(40 / area_mm2, rel=0.1)
    # radius 5 px at 0.5 um/px: area ~ pi * 2.5^2 ~ 20 um^2 (disc rasterisation adds a bit).
    assert 15 < feats[0, names.index("nuclear_area_mean_um2")] < 30
    assert (
        feats[1, names.index("nuclear_area_fraction")]
        > feats[0, names.index("nuclear_area_fraction")]
    )
    assert np.isfinite(feats).all()


def test_morphology_on_glass_is_all_zero_tissue() -> None:
    glass = np.full((1, 64, 64, 3), 245, np.uint8)
    feats = MorphologyEncoder().encode(glass, mpp=0.5)
    assert feats[0, 0] == 0.0
    assert feats[0, MORPHOLOGY_FEATURES.index("nuclei_per_mm2")] == 0.0


@pytest.mark.parametrize("cfg", [TINY_CNN, TINY_VIT], ids=["cnn", "vit"])
def test_a_random_checkpoint_round_trips_through_weights_only_loading(
    cfg: TorchEncoderConfig, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    model = build_encoder_model(cfg).eval()
    path = tmp_path / "encoder.pt"
    digest = save_encoder_checkpoint(model, cfg, path)
    encoder = load_torch_encoder(path, expected_sha256=digest, device="cpu")
    tiles = np.random.default_rng(0).integers(0, 256, (3, 96, 96, 3), dtype=np.uint8)
    feats = encoder.encode(tiles, mpp=0.5)
    with torch.inference_mode():
        expected = model(encoder.preprocess(tiles)).numpy()
    assert feats.shape == (3, cfg.dim)
    assert np.allclose(feats, expected, atol=1e-5)
    assert np.array_equal(feats, encoder.encode(tiles, mpp=0.5))
    assert encoder.version == digest[:12]
    assert not encoder.model.training


def test_the_vit_uses_timm_parameter_names() -> None:
    keys = set(build_encoder_model(TINY_VIT).state_dict())
    assert {"cls_token", "pos_embed", "patch_embed.proj.weight", "norm.weight"} <= keys
    assert {"blocks.0.attn.qkv.weight", "blocks.1.mlp.fc2.bias", "blocks.0.norm1.weight"} <= keys


def test_a_bare_state_dict_loads_with_a_given_config_and_head_is_ignored(tmp_path: Path) -> None:
    state = build_encoder_model(TINY_VIT).state_dict()
    state["head.weight"] = torch.zeros(10, TINY_VIT.embed_dim)
    torch.save(state, tmp_path / "timm.pth")
    encoder = load_torch_encoder(tmp_path / "timm.pth", config=TINY_VIT, device="cpu")
    assert encoder.dim == 48


def test_it_refuses_a_checkpoint_with_the_wrong_hash(tmp_path: Path) -> None:
    path = tmp_path / "encoder.pt"
    save_encoder_checkpoint(build_encoder_model(TINY_CNN), TINY_CNN, path)
    with pytest.raises(ValueError, match="sha256"):
        load_torch_encoder(path, expected_sha256="0" * 64)


class _Exploit:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("pwned",))


def test_it_refuses_a_checkpoint_that_would_run_code(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "payload": _Exploit()}, path, pickle_module=pickle)
    with pytest.raises(pickle.UnpicklingError):
        load_torch_encoder(path, config=TINY_CNN)


def test_it_refuses_weights_that_do_not_fit(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    save_encoder_checkpoint(build_encoder_model(TINY_CNN), TINY_CNN, path)
    payload = torch.load(path, weights_only=True)
    torch.save(payload["state_dict"], path)
    with pytest.raises(ValueError, match="does not fit"):
        load_torch_encoder(path, config=TINY_VIT)
