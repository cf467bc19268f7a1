"""Two CPU processes under torchrun (gloo), replicated (DDP) or sharded (FSDP), against one
process with the same global batch."""

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
    shard = sys.argv[2] == "fsdp"
    rank = distributed.setup("cpu")
    state = TrainState.fresh(CONFIG.seed)
    model = GPT(MODEL)
    if shard:
        model = model.double()  # summation order is all that differs: float64 makes it vanish
    wrapped = distributed.wrap(model, rank, "cpu", shard=shard)
    optimizer = make_optimizer(model, CONFIG)
    local = sum(getattr(p, "_local_tensor", p).numel() for p in model.parameters())  # this rank's
    losses = []
    train(wrapped, optimizer, data(), data(), CONFIG, state,
          on_step=lambda s, loss, lr: losses.append(loss))
    weights, optimizer_state = distributed.full_state(model, optimizer)
    weights = list(weights.values()) if shard else [p.detach() for p in model.parameters()]
    torch.save({"params": weights, "optimizer": optimizer_state, "losses": losses,
                "world": rank.world_size, "local": local}, f"{sys.argv[1]}/rank{rank.rank}.pt")
    distributed.teardown()
""")
MODEL = GPTConfig(vocab_size=20, context_length=8, n_layers=1, n_heads=2, d_model=16)
CONFIG = TrainConfig(batch_size=4, max_steps=3, lr=1e-2, warmup_steps=1, eval_interval=3,
                     eval_iters=1)


def data() -> torch.Tensor:
    return torch.arange(400) * 7 % 20  # a stream with structure to learn


def torchrun(args: list[str], tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc_per_node", "2", *args],
                         cwd=ROOT, timeout=180, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
                              "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert run.returncode == 0, f"torchrun failed:\n{run.stdout[-3000:]}\n{run.stderr[-6000:]}"


def test_ddp_matches_one_process_with_the_same_global_batch(tmp_path):
    (tmp_path / "worker.py").write_text(WORKER)
    torchrun([str(tmp_path / "worker.py"), str(tmp_path), "ddp"], tmp_path)
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


def test_fsdp_keeps_half_of_each_tensor_per_rank_and_matches_one_process(tmp_path):
    (tmp_path / "worker.py").write_text(WORKER)
    torchrun([str(tmp_path / "worker.py"), str(tmp_path), "fsdp"], tmp_path)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    state = TrainState.fresh(CONFIG.seed)
    model = GPT(MODEL).double()
    optimizer = make_optimizer(model, CONFIG)
    losses: list[float] = []
    train(model, optimizer, data(), data(), CONFIG, state,
          on_step=lambda s, loss, lr: losses.append(loss))
    assert r0["local"] + r1["local"] == model.num_parameters()  # each rank holds its own half
    assert r0["local"] == r1["local"] == model.num_parameters() // 2
    # the reported loss is all-reduced as a float32 tensor: equal to float32's precision
    torch.testing.assert_close(torch.tensor(r0["losses"]), torch.tensor(losses), rtol=1e-6, atol=0)
    for a, b in zip(r0["params"], model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    # the gathered optimiser state is the plain one, numbered as one process numbers it
    plain = optimizer.state_dict()
    assert r0["optimizer"]["param_groups"] == plain["param_groups"]
    for i, moments in plain["state"].items():
        torch.testing.assert_close(r0["optimizer"]["state"][i]["exp_avg_sq"], moments["exp_avg_sq"],
                                   rtol=1e-8, atol=1e-20)
    assert r1["params"] == [] and r1["optimizer"] == {}  # only rank 0 receives the whole state


def test_the_command_line_resumes_a_one_process_run_sharded_and_saves_a_plain_checkpoint(tmp_path):
    """A checkpoint holds whole tensors in one process's layout, so a run can move between one
    process and sharded ranks: stop at step 30 of 40, resume with torchrun --fsdp, and match the
    uninterrupted run."""
    from snippets.__main__ import main
    from snippets.training.checkpoint import load_checkpoint
    from tests.test_cli import TEXT

    text = tmp_path / "text.txt"
    text.write_text(TEXT, encoding="utf-8")
    common = ["train", "--data", str(text), "--steps", "40", "--batch-size", "8"]
    assert main([*common, "--out", str(tmp_path / "whole.pt")]) == 0
    # the tiny preset evaluates at step 30: a target any loss reaches stops the run there
    assert main([*common, "--target-loss", "100", "--out", str(tmp_path / "part.pt")]) == 0
    assert load_checkpoint(tmp_path / "part.pt").payload["step"] == 30
    torchrun(["-m", "snippets", "train", "--resume", str(tmp_path / "part.pt"), "--fsdp",
              "--target-loss", "0.001", "--data", str(text), "--out", str(tmp_path / "sharded.pt")],
             tmp_path)
    whole, sharded = load_checkpoint(tmp_path / "whole.pt"), load_checkpoint(tmp_path / "sharded.pt")
    assert sharded.payload["step"] == 40
    for a, b in zip(whole.model.state_dict().values(), sharded.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)  # float32: sums in another order
