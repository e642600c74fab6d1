"""DistributedDataParallel training: two gloo processes on 127.0.0.1 end with identical weights."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from impasto.feedforward.train import FastTrainConfig
from impasto.train.distributed import DistInfo, init_from_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, cfg_dict: dict, out: str) -> None:
    os.environ.update(
        {
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    )
    torch.set_num_threads(1)
    from impasto.feedforward.train import FastTrainConfig, make_step, train

    seen: list[torch.Tensor] = []
    original = make_step

    def spy(loss_fn, data, **kw):  # record this rank's crops of step 1
        seen.append(data.batch(kw["batch_size"], 1, seed=kw["seed"], rank=kw["rank"]))
        return original(loss_fn, data, **kw)

    import impasto.feedforward.train as fs

    fs.make_step = spy
    state = train(FastTrainConfig.from_dict(cfg_dict), Path(out) / "run")
    torch.save(
        {"state": state.nets["net"].state_dict(), "crops": seen[0], "step": state.step}, Path(out) / f"rank{rank}.pt"
    )


@pytest.mark.slow
def test_two_gloo_processes_end_with_identical_weights(examples_dir: Path, style_path: Path, tmp_path: Path) -> None:
    cfg = FastTrainConfig(
        style=str(style_path),
        data=str(examples_dir),
        exclude=("starry_night.jpg",),
        steps=2,
        batch_size=1,
        crop=32,
        load_size=64,
        style_size=64,
        width=4,
        blocks=1,
        kernel=3,
        style_layers=("relu1_2", "relu2_2"),
        lr=1e-2,
        precision="fp32",
        sample_every=0,
        device="cpu",
    )
    mp.start_processes(
        _worker, args=(2, _free_port(), cfg.to_dict(), str(tmp_path)), nprocs=2, start_method="spawn", join=True
    )
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["step"] == r1["step"] == 2
    assert not torch.equal(r0["crops"], r1["crops"])  # each rank trained on different crops ...
    for name, a in r0["state"].items():  # ... yet the averaged gradients keep the weights identical
        assert torch.equal(a, r1["state"][name]), name
    torch.manual_seed(cfg.seed)
    from impasto.nets import create_net

    initial = create_net("johnson", **cfg.arch_kwargs()).state_dict()
    assert any(not torch.equal(initial[k], v) for k, v in r0["state"].items())  # and they did train
    assert (tmp_path / "run" / "checkpoint.pt").is_file()  # written by rank 0


def test_single_process_is_not_distributed(monkeypatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert init_from_env("cpu") == DistInfo()
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert not init_from_env("cpu").enabled
