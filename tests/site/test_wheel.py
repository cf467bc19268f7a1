"""A reader's install: the wheel that the Pages site offers, in a fresh environment, runs every page.

The wheel is built from a copy of the sources the way the Pages workflow builds it (pip wheel,
here offline and without build isolation), must hold every module under snippets/, and is
installed with --no-deps into a fresh virtual environment in a temporary directory outside the
repository. Each page's blocks then run there in order, from that directory, and must print
what the page shows; pages that train run under other CPU kernels at the same time.

Reinstalling torch and the cross-check libraries would cost minutes, so the new environment
borrows them from the project's own environment through a .pth file that names its
site-packages. A plain path in a .pth file is only appended to sys.path: the .pth files inside
that directory are not run, so the editable install of `snippets` registered there (a finder
installed by `__editable__.*.pth`) is not active, and every run checks that `snippets` was
imported from the new environment.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from tools.install_box_hook import PLACEHOLDER, on_page_content, wheel_name
from tools.pageblocks import (DOCS, ROOT, PageBlock, dump_blocks, page_script, pages, training_pages,
                              unit_blocks, unit_script, units)

BOX = ROOT / "includes" / "install_box.md"
INCLUDE_LINE = '--8<-- "includes/install_box.md"'
WORKFLOW = ROOT / ".github" / "workflows" / "site.yml"
# pages whose code uses the package: they import it, or include its source (read as written,
# so that one page with a broken include cannot stop this module from being collected)
USES_SNIPPETS = re.compile(r'^\s*(from|import) snippets\b|--8<-- "snippets/', re.M)
PAGES = [p for p in pages() if USES_SNIPPETS.search(p.read_text(encoding="utf-8"))]
# what runs from the wheel: each such page, a chapter as one script (tools/pageblocks.units)
UNITS = [u for u in units() if USES_SNIPPETS.search(unit_script(u) + u.read_text(encoding="utf-8"))
         or any(p in PAGES for p in u.with_suffix("").glob("*.md"))]
TRAINING_PAGES = set(training_pages())
# (ATEN_CPU_CAPABILITY, threads, what torch must then report) for the pages that train
WHEEL_VARIANT = ("default", 2, "DEFAULT")


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "snippets", source / "snippets", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "results", source / "results", ignore=shutil.ignore_patterns("__pycache__", "tmp"))
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "--wheel-dir", str(out), str(source)], timeout=300)
    built = sorted(out.glob("*.whl"))
    assert len(built) == 1, f"expected one wheel, got {[w.name for w in built]}"
    return built[0]


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh environment, outside the repository, with the wheel installed and nothing else."""
    env_dir = tmp_path_factory.mktemp("reader") / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], timeout=120)
    python = env_dir / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
         "--quiet", str(wheel)], timeout=300)
    purelib = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "_borrowed_dependencies.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    return env_dir


def reader_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["MPLBACKEND"] = "Agg"
    return env


def test_the_distribution_name_cannot_collide_and_the_import_name_stays():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "modern-nlp-transformers"
    extras = project["optional-dependencies"]
    assert "modern-nlp-transformers[check,data,docs]" in extras["test"]


def test_the_wheel_holds_every_module(wheel):
    assert wheel.name == wheel_name()  # the file the install box names
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "snippets").rglob("*.py")}
    assert modules and modules <= names, f"missing from the wheel: {sorted(modules - names)}"
    # the measurements the pages read travel as snippets.results (pyproject.toml maps results/)
    stored = {f"snippets/results/{p.name}" for p in (ROOT / "results").glob("*.json")}
    assert "snippets/results/__init__.py" in names and stored <= names, sorted(stored - names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Name: modern-nlp-transformers" in metadata and "Requires-Dist: torch==" in metadata


def test_the_package_list_names_every_folder_under_snippets():
    # pyproject.toml lists the packages (it must, to map results/ into the package): a new
    # folder under snippets/ that the list misses would be left out of the wheel
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "snippets").rglob("__init__.py")}
    assert listed == folders | {"snippets.results"}


def test_the_installed_package_comes_from_the_wheel(wheel, venv, tmp_path):
    # every module imports in the new environment, and `snippets` is the copy installed there
    modules = sorted(zipfile.ZipFile(wheel).namelist())
    names = [m.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
             for m in modules if m.startswith("snippets/") and m.endswith(".py") and not m.endswith("__main__.py")]
    probe = ("import importlib, snippets\n"
             f"for name in {names!r}:\n    importlib.import_module(name)\n"
             "print(snippets.__file__)\n")
    result = run([str(venv / "bin" / "python"), "-c", probe], cwd=tmp_path, env=reader_env(), timeout=300)
    location = Path(result.stdout.strip().splitlines()[-1]).resolve()
    assert venv.resolve() in location.parents, f"snippets was imported from {location}, not the new environment"
    assert ROOT not in location.parents


@pytest.mark.parametrize("page", UNITS, ids=lambda p: str(p.relative_to(DOCS)))
def test_page_runs_from_the_installed_wheel(page, venv, tmp_path):
    """Every block, in order, with its printed output compared with the page's; a chapter runs
    as one script (its sections in order, without the code each repeats from the ones before
    it), while conftest.py runs each section page on its own.

    A page that trains runs here under ATen's scalar kernels with 2 threads, while the
    in-process run (conftest.py) uses this machine's kernels: one run proves both that the
    wheel is complete and that the page prints the same on another CPU (test_cpu_kernels.py
    runs only the settings that neither run covers)."""
    blocks = unit_blocks(page)
    check = ("import pathlib as _pathlib, snippets as _snippets\n"
             f"assert _pathlib.Path({str(venv.resolve())!r}) in _pathlib.Path(_snippets.__file__).resolve().parents, "
             "_snippets.__file__\n")
    blocks.append(PageBlock(blocks[0].page, 0, check, None))
    (tmp_path / "blocks.json").write_text(dump_blocks(blocks), encoding="utf-8")
    shutil.copy(ROOT / "tools" / "pageblocks.py", tmp_path / "pageblocks.py")  # outside the repository
    env = reader_env()
    command = [str(venv / "bin" / "python"), "pageblocks.py", "--blocks", "blocks.json"]
    if page in TRAINING_PAGES:
        env["ATEN_CPU_CAPABILITY"] = WHEEL_VARIANT[0]
        command += ["--threads", str(WHEEL_VARIANT[1]), "--capability", WHEEL_VARIANT[2]]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (
        f"{page.relative_to(ROOT)} failed with the package installed from its wheel"
        f"{' under ' + WHEEL_VARIANT[2] + ' kernels' if page in TRAINING_PAGES else ''}:\n"
        f"{result.stdout[-4000:]}{result.stderr[-3000:]}")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_page_that_imports_snippets_says_how_to_install_it(page):
    """A chapter's overview holds the install box, once; each of its section pages opens by
    pointing there."""
    if page.parent == DOCS:
        entry, top = page, page.read_text(encoding="utf-8").split("\n## ")[0]
    else:
        entry, top = page.parent.with_suffix(".md"), page.read_text(encoding="utf-8").split("\n```")[0]
        assert f"](../{entry.name})" in top, (
            f"{page.relative_to(ROOT)} imports snippets: open it with a link to {entry.name}, "
            f"whose install box says how to install the package")
        top = entry.read_text(encoding="utf-8").split("\n## ")[0]
    assert INCLUDE_LINE in top, (
        f"{entry.relative_to(ROOT)}: include the install box before its first section with the "
        f"line {INCLUDE_LINE}")


def test_the_box_names_the_wheel_on_the_site_and_the_workflow_puts_it_there():
    box = BOX.read_text(encoding="utf-8")
    assert PLACEHOLDER in box and '"modern-nlp-transformers[check,data] @ ' in box
    html = on_page_content(f"<code>pip install x @ {PLACEHOLDER}</code>", None,
                           type("Config", (), {"site_url": "https://example.org/guide/"})(), None)
    assert html == f"<code>pip install x @ https://example.org/guide/dist/{wheel_name()}</code>"
    workflow = WORKFLOW.read_text(encoding="utf-8")
    assert "--wheel-dir site/dist" in workflow and "tools/install_box_hook.py" in workflow
    mkdocs = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "- tools/install_box_hook.py" in mkdocs


def requirement_names(requires: list[str] | None, extras: set[str]) -> set[str]:
    """Distribution names a Requires-Dist list pulls in: unconditional ones, plus those of `extras`."""
    names = set()
    for line in requires or []:
        name = re.match(r"[A-Za-z0-9._-]+", line).group(0)
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", line)
        if extra is None or extra.group(1) in extras:
            names.add(re.sub(r"[-_.]+", "-", name).lower())
    return names


def imported_top_level_modules(source: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"snippets", "__future__"}


def test_the_box_installs_every_library_the_pages_and_the_package_import(wheel):
    # The new environment above borrows its dependencies, so check the box's extras separately:
    # every third-party module imported by a page or by snippets/ must come with
    # `modern-nlp-transformers[check,data]`, directly or through a dependency's dependencies.
    names = zipfile.ZipFile(wheel).namelist()
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    todo = requirement_names(re.findall(r"^Requires-Dist: (.+)$", metadata, re.M), {"check", "data"})
    closure: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in closure:
            closure.add(name)
            try:
                todo |= requirement_names(importlib.metadata.requires(name), set())
            except importlib.metadata.PackageNotFoundError:
                pass  # required only under a marker that does not hold here (tomli on Python < 3.11)
    sources = [page_script(p) for p in PAGES] + [f.read_text(encoding="utf-8") for f in (ROOT / "snippets").rglob("*.py")]
    imported = set().union(*map(imported_top_level_modules, sources))
    provided_by = importlib.metadata.packages_distributions()
    missing = {m: provided_by.get(m) for m in imported
               if not {re.sub(r"[-_.]+", "-", d).lower() for d in provided_by.get(m, [])} & closure}
    assert not missing, f"imported but not installed by the box's extras: {missing}"
