"""Two CPU processes under torchrun (gloo) against one process with the same global batch."""

import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from snippets.models.gpt import GPT, GPTConfig
from snippets.training.loop import TrainConfig, TrainState, make_optimizer, train

ROOT = Path(__file__).resolve().parents[2]
WORKER = textwrap.dedent("""
    import sys
    import torch
    from snippets.training import distributed
    from snippets.models.gpt import GPT
    from snippets.training.loop import TrainConfig, TrainState, make_optimizer, train
    from tests.training.test_distributed import CONFIG, MODEL, data

    torch.set_num_threads(1)
    rank = distributed.setup("cpu")
    state = TrainState.fresh(CONFIG.seed)
    model = GPT(MODEL)
    optimizer = make_optimizer(model, CONFIG)
    losses = []
    train(distributed.wrap(model, rank, "cpu"), optimizer, data(), data(), CONFIG, state,
          on_step=lambda s, loss, lr: losses.append(loss))
    torch.save({"params": [p.detach() for p in model.parameters()], "losses": losses,
                "world": rank.world_size}, f"{sys.argv[1]}/rank{rank.rank}.pt")
    distributed.teardown()
""")
MODEL = GPTConfig(vocab_size=20, context_length=8, n_layers=1, n_heads=2, d_model=16)
CONFIG = TrainConfig(batch_size=4, max_steps=3, lr=1e-2, warmup_steps=1, eval_interval=3,
                     eval_iters=1)


def data() -> torch.Tensor:
    return torch.arange(400) * 7 % 20  # a stream with structure to learn


def test_ddp_matches_one_process_with_the_same_global_batch(tmp_path):
    (tmp_path / "worker.py").write_text(WORKER)
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc_per_node", "2", str(tmp_path / "worker.py"), str(tmp_path)],
                         cwd=ROOT, timeout=120, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
                              "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, f"torchrun failed:\n{run.stdout[-3000:]}\n{run.stderr[-6000:]}"
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    for a, b in zip(r0["params"], r1["params"]):
        assert torch.equal(a, b)  # replicas stay identical: same averaged gradient each step

    state = TrainState.fresh(CONFIG.seed)
    model = GPT(MODEL)
    losses: list[float] = []
    train(model, make_optimizer(model, CONFIG), data(), data(), CONFIG, state,
          on_step=lambda s, loss, lr: losses.append(loss))
    torch.testing.assert_close(torch.tensor(r0["losses"]), torch.tensor(losses),
                               rtol=1e-5, atol=1e-6)
    for a, b in zip(r0["params"], model.parameters()):
        # Adam divides by sqrt(v): for near-zero gradients it magnifies summation-order noise
        torch.testing.assert_close(a, b.detach(), rtol=1e-3, atol=1e-4)
