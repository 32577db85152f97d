"""synthgen.distributed and DDP training of the tabular GAN, with real processes via torchrun.

Two CPU processes talk over gloo: the networks must stay identical on both ranks (DDP averages
every gradient, the gradient penalty's double backward included), only rank 0 writes, and a
run resumed from rank 0's checkpoint ends exactly where an uninterrupted one does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
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
    critics, train_gan = [], tabular.train_gan
    tabular.train_gan = lambda parts, *a, **k: critics.append(parts.critic) or train_gan(parts, *a, **k)

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
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    env.pop("SYNTHGEN_THREADS", None)  # each rank takes cores / LOCAL_WORLD_SIZE
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(script), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
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
