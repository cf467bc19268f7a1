import pytest
import torch

from snippets.__main__ import check_device, main

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 30


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_train_then_generate_is_deterministic_under_a_seed(tmp_path, data, capsys):
    ckpt = tmp_path / "ckpt.pt"
    assert main(["train", "--data", str(data), "--steps", "4", "--out", str(ckpt)]) == 0
    assert ckpt.is_file() and "saved" in capsys.readouterr().err
    outs = []
    for seed in (1, 1, 2):
        assert main(["generate", "--checkpoint", str(ckpt), "--prompt", "First",
                     "--max-new-tokens", "30", "--seed", str(seed)]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] != outs[2]
    assert outs[0].startswith("First") and len(outs[0]) == len("First") + 30 + 1  # + newline


def test_a_resumed_run_has_the_learning_rates_of_the_uninterrupted_run(tmp_path, data, monkeypatch):
    import snippets.__main__ as cli

    real_train, rates, stop = cli.train, [], {"at": None}

    def recording(*args, on_step, **kwargs):  # the CLI's train(), with its rates recorded
        def step(s, loss, lr):
            rates.append((s, lr))
            on_step(s, loss, lr)
        return real_train(*args, on_step=step, stop_at=stop["at"], **kwargs)

    monkeypatch.setattr(cli, "train", recording)
    train = ["train", "--data", str(data), "--preset", "tiny"]
    assert main(train + ["--steps", "12", "--out", str(tmp_path / "straight.pt")]) == 0
    straight, rates[:] = list(rates), []
    stop["at"] = 8  # interrupted after step 8, past the 6-step warm-up
    assert main(train + ["--steps", "12", "--out", str(tmp_path / "c.pt")]) == 0
    stop["at"] = None
    assert main(["train", "--data", str(data), "--resume", str(tmp_path / "c.pt"),
                 "--out", str(tmp_path / "c.pt")]) == 0
    assert [s for s, _ in rates] == list(range(1, 13))
    assert rates == straight  # the same rate at every step, across the resume point too
    assert torch.load(tmp_path / "c.pt", weights_only=True)["step"] == 12


def test_the_target_loss_stops_the_run_at_the_first_evaluation_that_reaches_it(tmp_path, data,
                                                                             capsys):
    from snippets.__main__ import PRESETS

    assert PRESETS["shakespeare-fast"][1]["target_loss"] is not None  # the preset stops itself
    ckpt = tmp_path / "c.pt"
    assert main(["train", "--data", str(data), "--steps", "90", "--target-loss", "50",
                 "--out", str(ckpt)]) == 0  # tiny preset: evaluations every 30 steps
    assert "at step 30 (validation loss reached the target 50.0)" in capsys.readouterr().err
    assert torch.load(ckpt, weights_only=True)["step"] == 30


def test_bpe_tokenizer_option(tmp_path, data, capsys):
    ckpt = tmp_path / "bpe.pt"
    assert main(["train", "--data", str(data), "--tokenizer", "bpe", "--vocab-size", "280",
                 "--steps", "2", "--out", str(ckpt)]) == 0
    assert "280 tokens" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [(b"", "is empty"), (b"caf\xe9", "not UTF-8")])
def test_bad_data_files_are_clear_errors(tmp_path, capsys, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    assert main(["train", "--data", str(path), "--out", str(tmp_path / "c.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and str(path) in err


def test_a_corrupt_checkpoint_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "c.pt"
    path.write_bytes(b"garbage")
    assert main(["generate", "--checkpoint", str(path)]) == 2
    assert "not a readable checkpoint" in capsys.readouterr().err


def test_devices_are_checked(monkeypatch):
    assert check_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="'cuda' is not available"):
        check_device("cuda")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        check_device("tpu")


# --- Bad input: one line `error: ...`, a non-zero exit, before the long work (issue 15) ------

def run(argv: list[str], capsys) -> tuple[int, str]:
    """main()'s exit code and stderr, whether argparse or the command refused the input."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A checkpoint at step 4 of a 6-step run, and one whose weights are NaN."""
    import shutil

    from snippets.training.checkpoint import weights_sha256

    folder = tmp_path_factory.mktemp("cli")
    data = folder / "text.txt"
    data.write_text(TEXT, encoding="utf-8")
    ckpt = folder / "ckpt.pt"
    assert main(["train", "--data", str(data), "--steps", "6", "--out", str(ckpt)]) == 0
    shutil.copy(ckpt, folder / "done.pt")  # a finished run: 6 of 6 steps
    payload = torch.load(ckpt, weights_only=True)
    payload["step"] = 4
    torch.save(payload, ckpt)
    payload["model"]["wte.weight"].fill_(float("nan"))
    payload["model_sha256"] = weights_sha256(payload["model"])
    torch.save(payload, folder / "nan.pt")
    short = folder / "short.txt"
    short.write_text("First Citizen: Before we proceed.\n" * 8, encoding="utf-8")  # val < 33 chars
    (folder / "a-file").write_text("not a folder")
    return folder


BAD = [  # (arguments, what the error line must say, the last step that may run first)
    ("train --steps 0", "argument --steps: must be >= 1, got 0", "args"),
    ("train --batch-size 0", "argument --batch-size: must be in [1, 65,536], got 0", "args"),
    ("train --batch-size 1000000000000", "must be in [1, 65,536], got 1000000000000", "args"),
    ("train --lr 0", "argument --lr: must be > 0, got 0", "args"),
    ("train --lr nan", "argument --lr: must be >= 0.0, got nan", "args"),
    ("train --lr -1", "argument --lr: must be >= 0.0, got -1", "args"),
    ("train --seed -1", "argument --seed: must be in [0,", "args"),
    ("train --steps ten", "argument --steps: not a number: 'ten'", "args"),
    ("train --vocab-size 100 --tokenizer bpe", "argument --vocab-size: must be >= 256", "args"),
    ("train --out {dir}", "is a directory", "args"),
    ("train --out {dir}/a-file/ckpt.pt", "is not writable", "args"),
    ("train --resume {dir}/ckpt.pt --lr 0.5", "--lr 0.5 (the checkpoint's is 0.003)", "args"),
    ("train --resume {dir}/ckpt.pt --batch-size 3", "--batch-size 3 (the checkpoint's is 8)", "args"),
    ("train --resume {dir}/ckpt.pt --preset shakespeare-char", "--preset shakespeare-char (its",
     "args"),
    ("train --resume {dir}/ckpt.pt --tokenizer bpe", "--tokenizer bpe (the checkpoint's is char)",
     "args"),
    ("train --resume {dir}/ckpt.pt --steps 3", "at step 4; --steps 3 leaves nothing to train",
     "args"),
    ("train --resume {dir}/ckpt.pt --steps 4", "at step 4; --steps 4 leaves nothing", "args"),
    ("train --resume {dir}/ckpt.pt --steps 9", "--steps 9 would lay the cosine schedule over 9 "
     "steps instead of the checkpoint's 6, and the learning rate would jump at step 4", "args"),
    ("train --resume {dir}/done.pt", "the checkpoint's run is complete (6 of 6 steps)", "args"),
    ("train --target-loss 0", "argument --target-loss: must be > 0, got 0", "args"),
    ("train --grad-accum 0", "argument --grad-accum: must be in [1, 65,536], got 0", "args"),
    ("train --dtype float64", "argument --dtype: invalid choice: 'float64'", "args"),
    ("train --dtype float16", "--dtype float16 needs a CUDA device (fast float16 kernels and a "
     "gradient scaler), not 'cpu'; use --dtype bfloat16", "args"),
    ("train --resume {dir}/ckpt.pt --grad-accum 2", "--grad-accum 2 (the checkpoint's is 1)",
     "args"),
    ("train --resume {dir}/ckpt.pt --dtype bfloat16",
     "--dtype bfloat16 (the checkpoint's is float32)", "args"),
    ("train --optimizer muon --fsdp", "--optimizer muon orthogonalises each whole matrix, and "
     "--fsdp gives each process a shard of it", "args"),
    ("train --optimizer adam", "argument --optimizer: invalid choice: 'adam'", "args"),
    ("train --resume {dir}/ckpt.pt --optimizer muon",
     "--optimizer muon (the checkpoint's is adamw)", "args"),
    ("train --batch-size 1000 --grad-accum 2", "batch size 1,000 x 2 micro-batches = 2,000 "
     "windows a step exceeds the 1,615 distinct windows", "data"),
    ("train --resume {dir}/nan.pt --steps 9", "NaN or inf", "args"),
    ("train --resume {dir}", "is a directory, not a checkpoint", "args"),
    ("train --data {dir}/short.txt", "the validation split has 28 tokens, fewer than one window "
     "of context_length + 1 = 33", "data"),
    ("train --batch-size 60000", "batch size 60,000 exceeds the 1,615 distinct windows", "data"),
    ("generate --temperature nan", "temperature must be a finite number >= 0", "args"),
    ("generate --temperature 1e-45", "temperature 1e-45 is below 0.001", "args"),
    ("generate --temperature -1", "temperature must be a finite number >= 0", "args"),
    ("generate --top-k 0", "top_k must be >= 1", "args"),
    ("generate --top-p 1.5", "top_p must be in (0, 1]", "args"),
    ("generate --max-new-tokens -1", "argument --max-new-tokens: must be >= 0", "args"),
    ("generate --checkpoint {dir}/nan.pt", "the weights contain NaN or inf", "args"),
    ("generate --checkpoint {dir}", "is a directory, not a checkpoint", "args"),
    ("generate --checkpoint {dir}/ckpt.pt --prompt Zebra", "'Z' (U+005A) is not in the vocabulary",
     "data"),
]


@pytest.mark.parametrize("argv, message, stage", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_error_line_before_the_long_work(trained, monkeypatch, capsys,
                                                         argv, message, stage):
    import snippets.__main__ as cli

    def too_late(*args, **kwargs):
        raise AssertionError("the long work started before the input was checked")

    monkeypatch.setattr(cli, "train", too_late)
    if stage == "args":  # not even the data is read
        monkeypatch.setattr(cli, "load_text", too_late)
    argv = argv.format(dir=trained).split()
    if argv[0] == "train" and "--data" not in argv:
        argv += ["--data", str(trained / "text.txt")]
    if argv[0] == "train" and "--out" not in argv:
        argv += ["--out", str(trained / "out" / "new.pt")]
    if argv[0] == "generate" and "--checkpoint" not in argv:
        argv += ["--checkpoint", str(trained / "absent.pt")]  # the settings fail first
    code, err = run(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert message in lines[0], lines[0]
    assert "Traceback" not in err
    assert not (trained / "out" / "new.pt").exists()


def test_a_bad_flag_is_one_line_without_a_traceback_in_a_real_process(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "snippets", "generate", "--temperature", "nan",
                             "--checkpoint", str(tmp_path / "x.pt")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stdout == ""
    expected = "error: temperature must be a finite number >= 0 (0 means greedy), got nan"
    assert result.stderr.startswith(expected)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_seed_zero_is_a_seed_and_not_the_default(tmp_path, data):
    weights = {}
    for name, extra in (("zero", ["--seed", "0"]), ("default", []), ("1337", ["--seed", "1337"])):
        out = tmp_path / f"{name}.pt"
        assert main(["train", "--data", str(data), "--steps", "1", "--out", str(out)] + extra) == 0
        weights[name] = torch.load(out, weights_only=True)["model"]["wte.weight"]
    assert torch.equal(weights["default"], weights["1337"])  # the default seed is 1337, not 0
    assert not torch.equal(weights["zero"], weights["default"])


def test_a_diverging_run_stops_with_a_message_and_writes_no_checkpoint(tmp_path, data, capsys):
    out = tmp_path / "lr.pt"
    code, err = run(["train", "--data", str(data), "--lr", "1e6", "--out", str(out)], capsys)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: step ")
    assert "training diverged: loss" in err and "try a lower learning rate" in err
    assert not out.exists() and not out.with_name(out.name + ".partial").exists()


def test_generation_without_a_newline_in_the_vocabulary_starts_from_a_known_token(tmp_path, capsys):
    data = tmp_path / "one-line.txt"
    data.write_text("to be or not to be " * 40, encoding="utf-8")
    ckpt = tmp_path / "c.pt"
    assert main(["train", "--data", str(data), "--steps", "2", "--out", str(ckpt)]) == 0
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(ckpt), "--max-new-tokens", "5"]) == 0
    captured = capsys.readouterr()
    assert "the vocabulary has no newline; starting from ' '" in captured.err
    assert len(captured.out) == 1 + 5 + 1 and captured.out.startswith(" ")


def test_resume_with_the_same_settings_is_allowed(trained, capsys):
    out = trained / "resumed.pt"
    assert main(["train", "--data", str(trained / "text.txt"), "--resume", str(trained / "ckpt.pt"),
                 "--steps", "6", "--lr", "0.003", "--preset", "tiny", "--tokenizer", "char",
                 "--out", str(out)]) == 0
    assert "at step 6" in capsys.readouterr().err


def test_the_llama_preset_trains_a_llama_that_generates_from_its_checkpoint(tmp_path, data, capsys):
    from snippets.models.llama import Llama
    from snippets.training.checkpoint import load_checkpoint

    ckpt = tmp_path / "llama.pt"
    assert main(["train", "--data", str(data), "--preset", "llama-shakespeare", "--steps", "2",
                 "--batch-size", "4", "--out", str(ckpt)]) == 0
    model = load_checkpoint(ckpt).model
    assert isinstance(model, Llama) and model.config.n_kv_heads == 2
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(ckpt), "--prompt", "First",
                 "--max-new-tokens", "10"]) == 0
    assert capsys.readouterr().out.startswith("First")


def test_the_compiler_is_checked_before_the_long_work(trained, monkeypatch, capsys):
    import snippets.__main__ as cli

    monkeypatch.setenv("CXX", "no-such-compiler")
    monkeypatch.setattr(cli, "load_text", lambda *a: pytest.fail("the data was read first"))
    code, err = run(["train", "--compile", "--out", str(trained / "out" / "c.pt")], capsys)
    assert code == 2 and err.strip() == (
        "error: --compile on a CPU needs a C++ compiler; 'no-such-compiler' is not on PATH "
        "(install g++ or set CXX)")


def test_the_scale_flags_train_and_the_trainer_prints_its_accounting(tmp_path, data, monkeypatch,
                                                                      capsys):
    """--grad-accum, --dtype bfloat16 and --checkpoint-activations together; --compile with
    dynamo's eager backend (tracing without code generation: seconds instead of a minute on
    two cores; the inductor backend is measured by benchmarks/bench_train_features.py)."""
    import snippets.__main__ as cli

    real_train, real_compile, runs = cli.train, torch.compile, []

    def recording(*args, on_step, **kwargs):
        losses = []
        runs.append(losses)
        return real_train(*args, on_step=lambda s, loss, lr: (losses.append(loss),
                                                              on_step(s, loss, lr)), **kwargs)

    monkeypatch.setattr(cli, "train", recording)
    monkeypatch.setattr(torch, "compile", lambda model: real_compile(model, backend="eager"))
    base = ["train", "--data", str(data), "--steps", "4", "--batch-size", "4"]
    assert main(base + ["--out", str(tmp_path / "a.pt")]) == 0
    err = capsys.readouterr().err
    assert "FLOPs per token: " in err and "AdamW " in err and "activations " in err
    assert "tokens/s" in err and "MFU " in err and "float32 matmul peak" in err
    assert main(base + ["--compile", "--out", str(tmp_path / "b.pt")]) == 0
    assert main(base + ["--checkpoint-activations", "--out", str(tmp_path / "c.pt")]) == 0
    assert runs[1] == pytest.approx(runs[0], rel=1e-6) and runs[2] == runs[0]
    capsys.readouterr()
    assert main(["train", "--data", str(data), "--steps", "4", "--batch-size", "2",
                 "--grad-accum", "2", "--dtype", "bfloat16", "--checkpoint-activations",
                 "--out", str(tmp_path / "d.pt")]) == 0
    assert "bfloat16 matmul peak" in capsys.readouterr().err
    saved = torch.load(tmp_path / "d.pt", weights_only=True)
    assert saved["train_config"]["grad_accum"] == 2 and saved["train_config"]["dtype"] == "bfloat16"
    assert set(saved["model"]) == set(torch.load(tmp_path / "a.pt", weights_only=True)["model"])
    assert abs(runs[3][0] - runs[0][0]) < 0.01  # the same 4 windows at step 1, in bfloat16
    capsys.readouterr()
    assert main(base + ["--optimizer", "muon", "--out", str(tmp_path / "e.pt")]) == 0
    err = capsys.readouterr().err
    assert "Muon + AdamW " in err
    assert torch.load(tmp_path / "e.pt", weights_only=True)["train_config"]["optimizer"] == "muon"
    assert runs[4][0] == runs[0][0] and runs[4][1] != runs[0][1]  # same first batch, new update
