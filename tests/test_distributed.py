"""DistributedDataParallel training: two gloo processes on 127.0.0.1 end with identical weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from gloo import become_rank, free_port
from impasto.feedforward.train import FastTrainConfig
from impasto.train.distributed import DistInfo, init_from_env


def _worker(rank: int, world: int, port: int, cfg_dict: dict, out: str) -> None:
    become_rank(rank, world, port)
    from impasto.feedforward.train import make_step, train

    seen: list[torch.Tensor] = []
    original = make_step

    def spy(loss_fn, data, cfg, **kw):  # record this rank's crops of step 1
        seen.append(data.batch(cfg.batch_size, 1, seed=cfg.seed, rank=kw["rank"]))
        return original(loss_fn, data, cfg, **kw)

    import impasto.feedforward.train as fs

    fs.make_step = spy
    state = train(FastTrainConfig.from_dict(cfg_dict), Path(out) / "run")
    torch.save(
        {"state": state.nets["net"].state_dict(), "crops": seen[0], "step": state.step}, Path(out) / f"rank{rank}.pt"
    )


@pytest.mark.slow
def test_two_gloo_processes_end_with_identical_weights(tiny_fast_config, tmp_path: Path) -> None:
    cfg = tiny_fast_config(steps=2, batch_size=1, sample_every=0)
    mp.start_processes(
        _worker, args=(2, free_port(), cfg.to_dict(), str(tmp_path)), nprocs=2, start_method="spawn", join=True
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
