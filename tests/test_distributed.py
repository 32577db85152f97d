"""synthgen.distributed and DDP training of both GANs, with real processes via torchrun.

Two CPU processes talk over gloo: the networks must stay identical on both ranks (DDP averages
every gradient, the gradient penalty's and R1's double backward included), only rank 0 writes,
and a run resumed from rank 0's checkpoint ends exactly where an uninterrupted one does.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch

from synthgen import distributed

REPO = Path(__file__).resolve().parents[1]

# Each rank: an uninterrupted 6-epoch fit, then 4 epochs with checkpoints + a resume to 6;
# writes checksums of what it holds; rank 0 also saves the models.
RANK_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, sys
    from pathlib import Path

    import numpy as np
    import pandas as pd
    import torch

    import synthgen.models.tabular.synthesizer as tabular
    from synthgen import distributed
    from synthgen.config import TabularModelConfig, TrainConfig
    from synthgen.models.tabular.synthesizer import TabularSynthesizer

    # Keep each fit's critic too: it is not part of the model, but must stay in sync as well.
    critics, backend = [], tabular.TabularBackend
    tabular.TabularBackend = lambda parts, *a, **k: critics.append(parts.critic) or backend(parts, *a, **k)

    out = Path(sys.argv[1])
    info = distributed.setup("cpu")
    rng = np.random.default_rng(0)
    n = 240
    df = pd.DataFrame({
        "age": rng.normal(60, 10, n).round(1),
        "site": rng.choice(["left", "right"], n),
        "label": np.where(rng.random(n) < 0.3, "malignant", "benign"),
    })
    model = TabularModelConfig(embedding_dim=8, generator_dims=[16], discriminator_dims=[16],
                               pac=4, max_modes=3)

    def fit(epochs, folder, resume=False):
        train = TrainConfig(epochs=epochs, batch_size=48, seed=7, device="cpu", progress=False,
                            checkpoint_every=2)
        return TabularSynthesizer(model, train).fit(
            df, "label", checkpoint_dir=out / folder, resume=resume)

    def digest(module):
        h = hashlib.sha256()
        for name, t in module.state_dict().items():
            h.update(name.encode() + t.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()

    reference = fit(6, "reference")
    fit(4, "resumed")
    resumed = fit(6, "resumed", resume=True)
    if info.is_main:
        reference.save(out / "model")
        resumed.save(out / "model-resumed")
    (out / f"rank{info.rank}.json").write_text(json.dumps({
        "world_size": info.world_size,
        "generator": digest(reference.generator_),
        "critic": digest(critics[0]),
        "resumed_generator": digest(resumed.generator_),
        "history": reference.history_,
        "resumed_history": resumed.history_,
    }))
    distributed.cleanup()
    """
)


# The same for the image GAN: 2D, with R1 (a double backward through the DDP-wrapped critic).
IMAGE_RANK_SCRIPT = textwrap.dedent(
    """
    import contextlib, hashlib, json, sys
    from pathlib import Path

    import torch

    import synthgen.models.imaging.trainer as trainer_module
    import synthgen.models.training.loop as loop_module
    from synthgen import distributed
    from synthgen.config import ImageModelConfig, TrainConfig
    from synthgen.interrupt import StopRequest
    from synthgen.models.imaging.synthesizer import ImageSynthesizer
    from tiny_images import tiny_dataset

    # Keep each fit's trainer: its discriminator is not part of the model, but must stay in sync.
    trainers, attach = [], trainer_module.GanTrainer.attach
    trainer_module.GanTrainer.attach = lambda self, *a, **k: trainers.append(self) or attach(self, *a, **k)

    out = Path(sys.argv[1])
    info = distributed.setup("cpu")
    torch.manual_seed(0)  # tiny_dataset draws its noise from torch's stream: the same on every rank
    data = tiny_dataset(n=24)
    model = ImageModelConfig(spatial_dims=2, image_size=16, latent_dim=8, base_channels=4, r1_gamma=1.0)

    def fit(epochs, folder, resume=False, callback=None):
        train = TrainConfig(epochs=epochs, batch_size=8, seed=3, device="cpu", progress=False,
                            checkpoint_every=2)
        return ImageSynthesizer(model, train).fit(data, checkpoint_dir=out / folder, resume=resume,
                                                  callback=callback)

    def digest(module):
        h = hashlib.sha256()
        for name, t in module.state_dict().items():
            h.update(name.encode() + t.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()

    reference = fit(4, "reference")

    # A stop request (what Ctrl-C or SIGTERM sets) on rank 1 only: both must stop, together.
    # Set directly rather than by a signal, which the OS may hand to one of gloo's threads.
    request = StopRequest()
    loop_module.stop_requests = lambda enabled=True: contextlib.nullcontext(request)

    def ctrl_c_on_rank_1(epoch, losses):
        if epoch == 1 and info.rank == 1:
            request.requested = True

    stopped_at = None
    try:
        fit(4, "resumed", callback=ctrl_c_on_rank_1)
    except KeyboardInterrupt:
        stopped_at = trainers[1].step_count
    request.requested = False
    resumed = fit(4, "resumed", resume=True)
    if info.is_main:
        reference.save(out / "model")
    (out / f"rank{info.rank}.json").write_text(json.dumps({
        "world_size": info.world_size,
        "generator": digest(trainers[0].g),
        "ema": digest(reference.generator_),
        "critic": digest(trainers[0].d),
        "resumed_ema": digest(resumed.generator_),
        "resumed_critic": digest(trainers[2].d),
        "history": reference.history_,
        "resumed_history": resumed.history_,
        "steps": trainers[0].step_count,
        "stopped_at": stopped_at,
    }))
    distributed.cleanup()
    """
)


# Rank 0 fails alone (its epoch callback raises) while rank 1 trains on: the job must end
# at once, not after gloo's 30-minute collective timeout.
FAILING_RANK_SCRIPT = textwrap.dedent(
    """
    import torch

    from synthgen import distributed
    from synthgen.config import ImageModelConfig, TrainConfig
    from synthgen.models.imaging.synthesizer import ImageSynthesizer
    from tiny_images import tiny_dataset

    info = distributed.setup("cpu")
    torch.manual_seed(0)
    data = tiny_dataset(n=24)

    def fail_on_rank_0(epoch, losses):
        if info.rank == 0:
            raise RuntimeError("the epoch callback failed on rank 0")

    model = ImageModelConfig(spatial_dims=2, image_size=16, latent_dim=8, base_channels=4)
    with distributed.process_group_scope():  # as the CLI does
        ImageSynthesizer(model, TrainConfig(epochs=500, batch_size=8, device="cpu", progress=False)
                         ).fit(data, callback=fail_on_rank_0)
    """
)


def _launch(script_text: str, tmp_path: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run ``script_text`` in 2 CPU processes under torchrun."""
    script = tmp_path / "rank.py"
    script.write_text(script_text)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")]),
           "OMP_NUM_THREADS": "1"}
    env.pop("SYNTHGEN_THREADS", None)  # each rank takes cores / LOCAL_WORLD_SIZE
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(script), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=timeout,
    )


def _torchrun(script_text: str, tmp_path: Path) -> list[dict]:
    """Each rank's JSON report of a successful 2-process run of ``script_text``."""
    done = _launch(script_text, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]

def test_without_torchrun_everything_is_a_single_process(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    info = distributed.setup("cpu")
    assert (info.rank, info.world_size, info.is_main, info.distributed) == (0, 1, True, False)
    assert info.device == torch.device("cpu")
    assert distributed.is_main_process() and not distributed.is_distributed()
    distributed.barrier()  # no process group: returns at once
    assert distributed.broadcast_str("run-1") == "run-1"
    assert distributed.any_process(True, info) and not distributed.any_process(False, info)
    assert torch.equal(distributed.all_reduce_sum(torch.tensor([1.0, 2.0]), info), torch.tensor([1.0, 2.0]))


def test_two_processes_train_in_step_and_resume_from_rank0_checkpoint(tmp_path):
    ranks = _torchrun(RANK_SCRIPT, tmp_path)
    assert [r["world_size"] for r in ranks] == [2, 2]
    # DDP kept the networks identical, and the losses in the history are averaged over ranks.
    assert ranks[0]["generator"] == ranks[1]["generator"]
    assert ranks[0]["critic"] == ranks[1]["critic"]  # the penalty's gradients were averaged too
    assert ranks[0]["history"] == ranks[1]["history"]
    # Resuming (every rank from rank 0's files) ends in the uninterrupted run's state.
    assert ranks[0]["resumed_generator"] == ranks[0]["generator"] == ranks[1]["resumed_generator"]
    assert ranks[0]["resumed_history"] == ranks[0]["history"]
    # Only rank 0 wrote checkpoints and models; both trained all 6 epochs.
    assert len(ranks[0]["history"]["loss_d"]) == 6
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("model")) == [
        "model", "model-resumed"]
    assert sorted(p.name for p in (tmp_path / "resumed").iterdir()) == sorted(
        p.name for p in (tmp_path / "reference").iterdir()
    )

    from synthgen.models.artifact import load_model

    synth, _ = load_model(tmp_path / "model")
    out = synth.sample(classes={"malignant": 13, "benign": 4}, seed=1)
    assert out["label"].value_counts().to_dict() == {"malignant": 13, "benign": 4}
    again, _ = load_model(tmp_path / "model-resumed")
    assert again.sample(classes={"malignant": 13, "benign": 4}, seed=1).equals(out)


def test_a_one_process_torchrun_needs_no_process_group(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    info = distributed.setup("cpu")
    assert not info.distributed and not distributed.is_distributed()


def test_two_processes_train_the_image_gan_in_step_and_resume_from_rank0_checkpoint(tmp_path):
    ranks = _torchrun(IMAGE_RANK_SCRIPT, tmp_path)
    assert [r["world_size"] for r in ranks] == [2, 2]
    # 24 images, batch 8 over 2 processes (4 each): 3 steps an epoch, 4 epochs
    assert ranks[0]["steps"] == ranks[1]["steps"] == 12
    for key in ("generator", "ema", "critic", "history"):
        assert ranks[0][key] == ranks[1][key], key  # R1's gradients were averaged too
    assert all(len(v) == 4 and all(math.isfinite(x) for x in v) for v in ranks[0]["history"].values())
    # A stop request on rank 1 after epoch 1 stopped both ranks after the next step (3 + 1);
    # resuming from rank 0's checkpoint (each rank its own RNG states and loss sums, the
    # epoch's order) ends where the uninterrupted run did.
    assert [r["stopped_at"] for r in ranks] == [4, 4]
    for r in ranks:
        assert (r["resumed_ema"], r["resumed_critic"]) == (ranks[0]["ema"], ranks[0]["critic"])
        assert r["resumed_history"] == ranks[0]["history"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("model")) == ["model"]
    assert sorted(p.name for p in (tmp_path / "resumed").iterdir()) == sorted(
        p.name for p in (tmp_path / "reference").iterdir())

    from synthgen.models.artifact import load_model

    synth, _ = load_model(tmp_path / "model")
    out = synth.generate({"b": 3, "a": 2}, seed=1)
    assert out.labels == ["a"] * 2 + ["b"] * 3 and out.images.shape == (5, 1, 16, 16)


def test_a_failure_on_one_rank_ends_the_job_at_once(tmp_path):
    start = time.perf_counter()
    done = _launch(FAILING_RANK_SCRIPT, tmp_path, timeout=120)  # hung for 30 minutes before
    assert done.returncode != 0
    assert "the epoch callback failed on rank 0" in done.stderr, done.stderr[-3000:]
    assert time.perf_counter() - start < 90  # 500 epochs would take far longer
