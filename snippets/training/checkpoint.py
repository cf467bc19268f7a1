"""Checkpoints that can be loaded without running anyone's code.

A checkpoint holds tensors and plain values only: the model and optimiser state dicts, the
model config as a dict, the tokenizer as JSON, the step and the random-number states. It is
read with torch.load(weights_only=True), whose unpickler refuses every class outside a short
allow-list, so a malicious file cannot execute code on load.
"""

# --8<-- [start:imports]
import json
import os
import pickle
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from snippets.tokenizers.bpe import ByteLevelBPE
from snippets.tokenizers.char import CharTokenizer
from snippets.models.gpt import GPT, GPTConfig
from snippets.training.loop import TrainConfig, TrainState
# --8<-- [end:imports]

# --8<-- [start:format]
FORMAT = "snippets-gpt-checkpoint/1"  # bumped whenever the payload's layout changes
TOKENIZERS = {"char": CharTokenizer, "bpe": ByteLevelBPE}


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, of another format, or does not fit the model."""
# --8<-- [end:format]


# --8<-- [start:save]
def save_checkpoint(path: str | Path, model: GPT, tokenizer: CharTokenizer | ByteLevelBPE,
                    optimizer: torch.optim.Optimizer | None = None,
                    train_config: TrainConfig | None = None,
                    state: TrainState | None = None) -> None:
    """Write everything needed to resume training, or just to generate, to `path`."""
    payload = {
        "format": FORMAT,
        "model_config": asdict(model.config),
        "model": model.state_dict(),
        "tokenizer": json.dumps(tokenizer.to_dict()),  # a string: nothing for pickle to build
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "train_config": None if train_config is None else asdict(train_config),
        "step": 0 if state is None else state.step,
        "history": json.dumps([] if state is None else state.history),
        "rng": {"torch": torch.get_rng_state(),
                "batches": None if state is None else state.batch_rng.get_state()},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(payload, partial)
    os.replace(partial, path)  # atomic: a crash mid-save never leaves half a checkpoint
# --8<-- [end:save]


# --8<-- [start:load]
@dataclass
class Checkpoint:
    model: GPT
    tokenizer: CharTokenizer | ByteLevelBPE
    payload: dict

    def restore(self, optimizer: torch.optim.Optimizer) -> TrainState:
        """Load the optimiser state and random streams; return the state to continue from."""
        if self.payload["optimizer"] is None or self.payload["rng"]["batches"] is None:
            raise CheckpointError("this checkpoint has no optimiser or RNG state: it cannot resume")
        try:
            optimizer.load_state_dict(self.payload["optimizer"])
        except (ValueError, KeyError) as error:
            raise CheckpointError(f"optimiser state does not fit this model: {error}") from None
        torch.set_rng_state(self.payload["rng"]["torch"])
        batch_rng = torch.Generator()
        batch_rng.set_state(self.payload["rng"]["batches"])
        return TrainState(step=self.payload["step"], batch_rng=batch_rng,
                          history=json.loads(self.payload["history"]))

    @property
    def train_config(self) -> TrainConfig | None:
        tc = self.payload["train_config"]
        return None if tc is None else TrainConfig(**{**tc, "betas": tuple(tc["betas"])})


def tokenizer_from_dict(data: dict) -> CharTokenizer | ByteLevelBPE:
    kind = data.get("type")
    if kind not in TOKENIZERS:
        raise CheckpointError(f"unknown tokenizer type {kind!r}; expected one of {sorted(TOKENIZERS)}")
    return TOKENIZERS[kind].from_dict(data)


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> Checkpoint:
    """Read a checkpoint with the safe unpickler and rebuild model and tokenizer from it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt, truncated, or "
                              f"it needs unsafe unpickling): {first}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path} has format {found!r}, expected {FORMAT!r}")
    try:
        config = GPTConfig(**payload["model_config"])
    except TypeError as error:
        raise CheckpointError(f"{path}: model config does not match GPTConfig: {error}") from None
    tokenizer = tokenizer_from_dict(json.loads(payload["tokenizer"]))
    if tokenizer.vocab_size != config.vocab_size:
        raise CheckpointError(f"{path}: tokenizer has {tokenizer.vocab_size} tokens but the "
                              f"model expects vocab_size={config.vocab_size}")
    model = GPT(config)
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as error:
        raise CheckpointError(f"{path}: weights do not fit the saved config: "
                              f"{str(error).splitlines()[0]} ...") from None
    return Checkpoint(model=model.to(map_location), tokenizer=tokenizer, payload=payload)
# --8<-- [end:load]
