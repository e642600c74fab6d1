"""ONNX export: the exported graph, run by onnxruntime, matches PyTorch at other sizes and batch sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from impasto.cli import main
from impasto.errors import InputError
from impasto.feedforward.export import export_model, export_onnx, onnx_session
from impasto.feedforward.model import FeedForwardModel
from impasto.nets import create_net

ort = pytest.importorskip("onnxruntime")  # in the dev and onnx extras, so CI runs this


def _model() -> FeedForwardModel:
    torch.manual_seed(5)
    net = create_net("johnson", width=4, blocks=2, kernel=5)
    with torch.no_grad():
        net.tail.conv.bias.fill_(0.5)
    return FeedForwardModel(net.eval(), "t", "johnson", {"width": 4, "blocks": 2, "kernel": 5})


@pytest.mark.slow
def test_onnxruntime_matches_pytorch_at_dynamic_sizes(tmp_path: Path) -> None:
    fast = _model()
    path = export_onnx(fast, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    for shape in [(1, 3, 64, 64), (2, 3, 37, 53), (1, 3, 101, 30)]:
        x = torch.rand(*shape)
        with torch.no_grad():
            expected = fast.net(x).clamp(0, 1).numpy()
        got = session.run(None, {"image": x.numpy()})[0]
        assert got.shape == shape
        assert np.abs(got - expected).max() < 1e-4, shape


def test_cli_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = export_model(_model(), tmp_path / "m.pt")
    assert main(["fast", "export", str(model), str(tmp_path / "m.onnx")]) == 0
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    out = session.run(None, {"image": np.random.rand(1, 3, 24, 40).astype(np.float32)})[0]
    assert out.shape == (1, 3, 24, 40) and 0 <= out.min() and out.max() <= 1
    assert main(["fast", "export", str(model), str(tmp_path / "m.txt")]) == 2
    assert ".onnx or .pt" in capsys.readouterr().err
    with pytest.raises(InputError, match="does not exist"):
        export_onnx(model, tmp_path / "no" / "m.onnx")


def test_onnxruntime_engine_matches_the_torch_engine(tmp_path: Path) -> None:
    from impasto.feedforward.apply import load_model, stylize_arrays

    model = load_model(export_model(_model(), tmp_path / "m.pt", half=False))
    images = [np.random.default_rng(2).random((29, 41, 3), dtype=np.float32) for _ in range(3)]
    a = stylize_arrays(images, model, engine="torch", device="cpu")
    b = stylize_arrays(images, model, engine="onnxruntime", device="cpu")
    c = stylize_arrays(images[:1], model, engine="auto", device="cpu")
    assert model._session is not None  # auto chose onnxruntime on the CPU
    for x, y in zip(a, b):
        assert x.shape == y.shape == (29, 41, 3) and np.abs(x - y).max() < 1e-4
    assert np.abs(c[0] - a[0]).max() < 1e-4
    with pytest.raises(InputError, match="engine"):
        stylize_arrays(images, model, engine="tensorrt", device="cpu")
    with pytest.raises(InputError, match="fp32"):
        stylize_arrays(images, model, engine="onnxruntime", device="cpu", precision="bf16")


@pytest.mark.parametrize("name", ["starry-night", "starry-night-lite"])
def test_shipped_onnx_twin_matches_the_shipped_weights(name: str) -> None:
    from impasto.feedforward.model import load_model

    model = load_model(name)
    assert model.onnx_path is not None and model.onnx_path.is_file()
    x = torch.rand(1, 3, 45, 62)
    with torch.no_grad():
        expected = model.net(x).clamp(0, 1).numpy()
    got = onnx_session(model).run(None, {"image": x.numpy()})[0]
    assert np.abs(got - expected).max() < 1e-3
