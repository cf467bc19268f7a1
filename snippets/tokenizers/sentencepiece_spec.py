"""Train a `sentencepiece` model in memory and read back the settings it actually used.

SentencePiece (Kudo and Richardson, 2018, arXiv:1808.06226) logs its full trainer and normaliser
specification, every default filled in, when training starts. Reading that log is how this
guide checks the defaults it states against the installed library instead of quoting them from
memory. The log is written by C++ to file descriptor 2, so Python's sys.stderr cannot catch it:
the descriptor itself is pointed at a temporary file while the trainer runs.
"""

# --8<-- [start:imports]
import io
import os
import re
import sys
import tempfile

import sentencepiece as spm
# --8<-- [end:imports]

# --8<-- [start:train]
# "  key: value" lines, two spaces deep: the fields of trainer_spec { } and normalizer_spec { }
SPEC_FIELD = re.compile(r"^  (\w+): ?(.*)$", re.MULTILINE)


def train_with_spec(lines: list[str], **options) -> tuple[spm.SentencePieceProcessor, dict[str, str]]:
    """A model trained on `lines` with `options`, and the spec fields its trainer logged."""
    if not lines:
        raise ValueError("train_with_spec needs at least one line of text, got none")
    model = io.BytesIO()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model,
                                           minloglevel=0, num_threads=1, **options)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        text = log.read().decode("utf-8", errors="replace")
    spec = dict(SPEC_FIELD.findall(text))
    if "character_coverage" not in spec:
        raise RuntimeError(f"sentencepiece logged no trainer spec; its log began: {text[:200]!r}")
    return spm.SentencePieceProcessor(model_proto=model.getvalue()), spec
# --8<-- [end:train]
