"""Every `python -m snippets` and `torchrun ... -m snippets` command the README and chapter 9's
section pages show parses, and every training command's global batch divides over its processes."""

import re
import shlex
from pathlib import Path

import pytest

from snippets.__main__ import fresh_config, parser

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs" / "building_mini_transformer").glob("*.md"))]


def documented_commands() -> list[tuple[str, str]]:
    commands = []
    for doc in DOCUMENTS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        for block in re.findall(r"```console\n(.*?)```", text, re.S):
            block = re.sub(r"\\\n\s*", " ", block)  # a command continued with a backslash
            for line in block.splitlines():
                line = line.removeprefix("$ ").strip()
                if re.match(r"(python|torchrun)\b.*-m snippets\b", line):
                    commands.append((doc, line))
    return commands


COMMANDS = documented_commands()


def test_the_documents_show_commands_of_every_kind():
    lines = [line for _, line in COMMANDS]
    assert any(line.startswith("torchrun") and "cuda" in line for line in lines)
    assert any("--resume" in line for line in lines)
    assert any(" generate " in line for line in lines)


@pytest.mark.parametrize("doc, line", COMMANDS, ids=[line for _, line in COMMANDS])
def test_a_documented_command_is_valid(doc, line):
    words = shlex.split(line, comments=True)
    nproc = 1
    if words[0] == "torchrun":
        nproc = int(words[words.index("--nproc_per_node") + 1])
    args = parser().parse_args(words[words.index("snippets") + 1:])  # exits on a bad flag
    if args.command == "train" and not args.resume:
        config = fresh_config(args)
        assert config.batch_size % nproc == 0, (
            f"{doc}: `{line}` splits a global batch of {config.batch_size} over {nproc} "
            f"processes; the trainer refuses a batch that does not divide")
