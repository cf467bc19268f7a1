"""Pages that train print the same numbers under other CPU kernels and thread counts.

Training turns the last-bit differences between kernels (ATen's AVX-512, AVX2 and scalar
paths, MKL's path on AMD vs Intel, the number of threads) into visible ones, about 10^4-fold
over 150 steps. The normal run executes every page with this machine's own kernels and
threads; here each page that trains (found from its code by tools.pageblocks.code_trains, so
a new chapter is covered without anyone listing it) runs again in a fresh interpreter under

- ATen's scalar kernels (ATEN_CPU_CAPABILITY=default) with 2 threads, and
- ATen's AVX2 kernels (ATEN_CPU_CAPABILITY=avx2) with 1 thread,

and every expected output must still match exactly. The two settings are paired, not crossed,
and a setting that another run of the suite already covers is not run again: `make test` runs
the pages in-process with one thread per worker (on an AVX2 machine that is the second
setting), and tests/site/test_wheel.py runs the training pages from the wheel under the first.
Pages that only do inference are not rerun: without training the differences stay in digits
the pages do not print.
"""

import os
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path

import pytest

from tools.pageblocks import DOCS, ROOT, code_trains, training_pages

FENCE = "```"
# (ATEN_CPU_CAPABILITY, threads, the capability torch must then report)
VARIANTS = {
    "default-kernels-2-threads": ("default", 2, "DEFAULT"),
    "avx2-kernels-1-thread": ("avx2", 1, "AVX2"),
}


@cache
def native_capability() -> str:
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
    out = subprocess.run([sys.executable, "-c", "import torch; "
                          "print(torch.backends.cpu.get_cpu_capability())"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def run_variant(page: Path, variant: str) -> subprocess.CompletedProcess:
    capability, threads, reported = VARIANTS[variant]
    # torch does not check the hardware behind ATEN_CPU_CAPABILITY: AVX2 kernels on a CPU
    # without AVX2 die of SIGILL (as avx512 does on this project's AMD machines).
    if reported == "AVX2" and native_capability() not in ("AVX2", "AVX512"):
        capability, reported = "default", "DEFAULT"
    env = dict(os.environ, ATEN_CPU_CAPABILITY=capability, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "tools.pageblocks", str(page),
                           "--threads", str(threads), "--capability", reported],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def uncovered_variants() -> list[str]:
    """The variants that no other run covers: the in-process run (this machine's kernels,
    torch's thread count here) and the wheel run of the training pages (test_wheel.py)."""
    import torch

    from tests.site.test_wheel import WHEEL_VARIANT

    covered = {(native_capability(), torch.get_num_threads()), (WHEEL_VARIANT[2], WHEEL_VARIANT[1])}
    return [name for name, (_, threads, reported) in VARIANTS.items() if (reported, threads) not in covered]


UNCOVERED = uncovered_variants()

if UNCOVERED:  # defined only where a setting is left over, so that no run reports a skip
    @pytest.mark.parametrize("variant", UNCOVERED)
    @pytest.mark.parametrize("page", training_pages(), ids=lambda p: str(p.relative_to(DOCS)))
    def test_a_training_page_prints_the_same_under_other_kernels(page, variant):
        result = run_variant(page, variant)
        assert result.returncode == 0, (
            f"{page.relative_to(ROOT)} under {variant}: a page that trains must print the same "
            f"numbers on every CPU; train its demonstration in float64 (STYLE.md).\n"
            f"{result.stdout[-4000:]}{result.stderr[-2000:]}")


def test_every_setting_runs_somewhere():
    """Each variant is either run above or is exactly the setting of another run of the suite."""
    import torch

    from tests.site.test_wheel import WHEEL_VARIANT

    runs = {(native_capability(), torch.get_num_threads()), (WHEEL_VARIANT[2], WHEEL_VARIANT[1])}
    for name, (_, threads, reported) in VARIANTS.items():
        assert name in UNCOVERED or (reported, threads) in runs, name
    assert WHEEL_VARIANT[2] == "DEFAULT" and native_capability() != "DEFAULT", (
        "the wheel run must differ from the in-process run in its kernels")


# --- The test has teeth --------------------------------------------------------------------

@pytest.mark.parametrize("code, trains", [
    ("for _ in range(3):\n    loss = model(x).sum()\n    loss.backward()\n    opt.step()\n", True),
    ("loss.backward()\noptimizer.step()\n", True),
    ("from snippets.training.loop import train\ntrain(m, o, a, b, c, s)\n", True),
    ("from snippets.training.loop import train_step\ntrain_step(m, o, x, y, 1e-3, 1.0)\n", True),
    ("for p in net.parameters():\n    net(x).sum().backward()\n    p.data -= 0.1 * p.grad\n", True),
    ("loss.backward()\nwith torch.no_grad():\n    w.sub_(lr * w.grad)\n", True),
    ("x.requires_grad_()\n(x * x).sum().backward()\nprint(x.grad)\n", False),  # one gradient
    ("for tied in (0, 1):\n    loss(tied).backward()\n    line = f'{w.grad}'\n    line += 'x'\n",
     False),  # gradients compared, never applied
    ("from snippets.tokenizers.char import CharTokenizer\nCharTokenizer.train('ab')\n", False),
    ("model.train()\nprint(model(x))\n", False),
])
def test_training_is_detected_from_the_code(code, trains):
    assert code_trains(code) is trains


def test_the_pages_known_to_train_are_found():
    found = {page.relative_to(DOCS).as_posix() for page in training_pages()}  # chapters run whole
    assert {"gpt_family.md", "building_mini_transformer.md"} <= found, found
    assert "tokenization.md" not in found  # one backward pass, to show which rows get gradient


def test_a_kernel_dependent_page_fails_and_names_the_block(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(textwrap.dedent("""
        ~~~python
        import torch
        print(torch.backends.cpu.get_cpu_capability(), torch.get_num_threads())
        ~~~

        <!--pytest-codeblocks:expected-output-->

        ~~~text
        DEFAULT 2
        ~~~
        """).replace("~~~", FENCE), encoding="utf-8")
    assert run_variant(page, "default-kernels-2-threads").returncode == 0
    result = run_variant(page, "avx2-kernels-1-thread")  # prints "AVX2 1" (or "DEFAULT 1")
    assert result.returncode == 1
    assert f"{page.resolve()}, line 2: printed output differs" in result.stdout
    assert "DEFAULT 2" in result.stdout and " 1\n" in result.stdout


def test_a_variant_that_does_not_take_effect_is_refused(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"{FENCE}python\nprint(1)\n{FENCE}\n", encoding="utf-8")
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default")
    result = subprocess.run([sys.executable, "-m", "tools.pageblocks", str(page),
                             "--capability", "AVX2"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "runs DEFAULT kernels, not AVX2" in result.stderr
