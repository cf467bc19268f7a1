"""Checkpoints that can be loaded without running anyone's code.

A checkpoint holds tensors and plain values only: the model and optimiser state dicts, the
model config as a dict, the tokenizer as JSON, the step and the random-number states. It is
read with torch.load(weights_only=True), whose unpickler refuses every class outside a short
allow-list: that closes pickle's code-execution path, as far as the installed PyTorch's
unpickler has no bypass (CVE-2025-32434, fixed in 2.6, and CVE-2026-24747, fixed in 2.10,
were two). For files from strangers, prefer safetensors.
"""

# --8<-- [start:imports]
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from snippets.tokenizers.bpe import ByteLevelBPE
from snippets.tokenizers.char import CharTokenizer
from snippets.models.gpt import GPT, GPTConfig
from snippets.models.llama import Llama, LlamaConfig
from snippets.training.loop import TrainConfig, TrainState
# --8<-- [end:imports]

# --8<-- [start:format]
FORMAT = "snippets-gpt-checkpoint/2"  # bumped whenever the payload's layout changes
TOKENIZERS = {"char": CharTokenizer, "bpe": ByteLevelBPE}
MODELS = {"gpt": (GPT, GPTConfig), "llama": (Llama, LlamaConfig)}  # family -> (model, config)


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, of another format, or does not fit the model."""
# --8<-- [end:format]


# --8<-- [start:save]
# --8<-- [start:save_hash]
def weights_sha256(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 of every tensor's name, dtype, shape and bytes: one flipped bit changes it."""
    digest = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        digest.update(f"{name} {t.dtype} {tuple(t.shape)};".encode())
        digest.update(t.flatten().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
# --8<-- [end:save_hash]


# --8<-- [start:save_write]
def save_checkpoint(path: str | Path, model: GPT | Llama, tokenizer: CharTokenizer | ByteLevelBPE,
                    optimizer: torch.optim.Optimizer | None = None,
                    train_config: TrainConfig | None = None,
                    state: TrainState | None = None, *, weights: dict | None = None,
                    optimizer_state: dict | None = None) -> None:
    """Write everything needed to resume training, or just to generate, to `path`.

    weights and optimizer_state replace model.state_dict() and optimizer.state_dict() where
    those hold shards (distributed.full_state gathers the whole tensors)."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory; give a file path such as {path / 'ckpt.pt'}")
    if weights is None:
        weights = model.state_dict()
    if optimizer_state is None and optimizer is not None:
        optimizer_state = optimizer.state_dict()
    if not all(t.isfinite().all() for t in weights.values() if t.is_floating_point()):
        raise CheckpointError(f"not saving {path}: the model's weights contain NaN or inf")
    payload = {
        "format": FORMAT,
        "model_family": next(name for name, (cls, _) in MODELS.items() if isinstance(model, cls)),
        "model_config": asdict(model.config),
        "model": weights,
        "model_sha256": weights_sha256(weights),  # checked on load: bit rot, a bad copy
        "tokenizer": json.dumps(tokenizer.to_dict()),  # a string: nothing for pickle to build
        "optimizer": optimizer_state,
        "train_config": None if train_config is None else asdict(train_config),
        "step": 0 if state is None else state.step,
        "history": json.dumps([] if state is None else state.history),
        "rng": {"torch": torch.get_rng_state(),  # dropout on a CPU
                # dropout on a GPU draws from this device's own stream
                "cuda": torch.cuda.get_rng_state() if torch.cuda.is_initialized() else None,
                "batches": None if state is None else state.batch_rng.get_state()},
    }
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(payload, partial)
        os.replace(partial, path)  # atomic: a crash mid-save never leaves half a checkpoint
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise CheckpointError(f"cannot write {path}: {error.strerror or error}") from None
# --8<-- [end:save_write]
# --8<-- [end:save]


# --8<-- [start:load]
# --8<-- [start:load_checks]
@dataclass
class Checkpoint:
    model: GPT | Llama
    tokenizer: CharTokenizer | ByteLevelBPE
    payload: dict

    def restore(self, optimizer: torch.optim.Optimizer | Callable[[dict], None]) -> TrainState:
        """Load the optimiser state and random streams; return the state to continue from.
        `optimizer` may instead be a function that loads the saved optimiser state dict."""
        rng = self.payload.get("rng")
        if (self.payload.get("optimizer") is None or not isinstance(rng, dict)
                or rng.get("batches") is None):
            raise CheckpointError("this checkpoint has no optimiser or RNG state: it cannot resume")
        try:
            load = optimizer if callable(optimizer) else optimizer.load_state_dict
            load(self.payload["optimizer"])
            torch.set_rng_state(rng["torch"].cpu())
            if rng.get("cuda") is not None and torch.cuda.is_available():
                torch.cuda.set_rng_state(rng["cuda"].cpu())  # the current device's stream
            batch_rng = torch.Generator()
            batch_rng.set_state(rng["batches"])
            return TrainState(step=int(self.payload["step"]), batch_rng=batch_rng,
                              history=json.loads(self.payload["history"]))
        except (ValueError, KeyError, TypeError, RuntimeError) as error:
            raise CheckpointError(f"training state cannot be restored: "
                                  f"{type(error).__name__}: {error}") from None

    @property
    def train_config(self) -> TrainConfig | None:
        tc = self.payload.get("train_config")
        if tc is None:
            return None
        try:
            return TrainConfig(**{**tc, "betas": tuple(tc["betas"])})
        except (TypeError, ValueError, KeyError) as error:
            raise CheckpointError(f"train config does not match TrainConfig: {error}") from None


def tokenizer_from_dict(data: dict) -> CharTokenizer | ByteLevelBPE:
    kind = data.get("type") if isinstance(data, dict) else None
    if kind not in TOKENIZERS:
        raise CheckpointError(f"unknown tokenizer type {kind!r}; expected one of {sorted(TOKENIZERS)}")
    try:
        return TOKENIZERS[kind].from_dict(data)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"the {kind} tokenizer cannot be rebuilt: "
                              f"{type(error).__name__}: {error}") from None


def check_weights(path: Path, config: GPTConfig | LlamaConfig,
                  payload: dict) -> dict[str, torch.Tensor]:
    """The weights, once they fit the config, match their checksum and are all finite.

    Shapes are compared before any model is built: a small file that declares a huge config
    must not make the loader allocate it.
    """
    state = payload.get("model")
    if not isinstance(state, dict) or not all(isinstance(t, torch.Tensor) for t in state.values()):
        raise CheckpointError(f"{path}: the 'model' field is not a dict of tensors")
    C = config.d_model
    tables = {"wte.weight": (config.vocab_size, C)}
    if isinstance(config, GPTConfig):  # a Llama has no position table
        tables["wpe.weight"] = (config.context_length, C)
    for name, want in tables.items():
        found = tuple(state[name].shape) if name in state else None
        if found != want:
            raise CheckpointError(f"{path}: weights do not fit the saved config: {name} is "
                                  f"{found} in the file, {want} by the config")
    blocks = {key.split(".")[1] for key in state if key.startswith("blocks.")}
    if len(blocks) != config.n_layers:
        raise CheckpointError(f"{path}: weights do not fit the saved config: {len(blocks)} "
                              f"blocks in the file, n_layers={config.n_layers} in the config")
    with torch.device("meta"):  # shapes only, no memory: safe now that n_layers is known
        model_class = GPT if isinstance(config, GPTConfig) else Llama
        expected = {k: tuple(v.shape) for k, v in model_class(config).state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if found != expected:
        diff = sorted(set(found.items()) ^ set(expected.items()))[:4]
        raise CheckpointError(f"{path}: weights do not fit the saved config: {diff} ...")
    if payload.get("model_sha256") != weights_sha256(state):
        raise CheckpointError(f"{path}: the weights do not match their SHA-256: the file was "
                              "corrupted after it was written")
    if not all(t.isfinite().all() for t in state.values() if t.is_floating_point()):
        raise CheckpointError(f"{path}: the weights contain NaN or inf (the run diverged)")
    return state
# --8<-- [end:load_checks]


# --8<-- [start:load_entry]
def load_checkpoint(path: str | Path, map_location: str = "cpu") -> Checkpoint:
    """Read a checkpoint with the safe unpickler and rebuild model and tokenizer from it."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # noqa: BLE001 -- whatever the reader raises, it cannot be read
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt, truncated, not a "
                              f"checkpoint, or it needs unsafe unpickling): {first}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path} has format {found!r}, expected {FORMAT!r}")
    if not isinstance(payload.get("model_config"), dict):
        raise CheckpointError(f"{path}: no model config (the 'model_config' field is "
                              f"{type(payload.get('model_config')).__name__}, not a dict)")
    family = payload.get("model_family", "gpt")  # files written before Llama existed are GPTs
    if family not in MODELS:
        raise CheckpointError(f"{path}: unknown model family {family!r}; expected one of "
                              f"{sorted(MODELS)}")
    model_class, config_class = MODELS[family]
    try:
        config = config_class(**payload["model_config"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: model config does not match {config_class.__name__}: "
                              f"{error}") from None
    try:
        tokenizer = tokenizer_from_dict(json.loads(payload.get("tokenizer")))
    except (TypeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: the 'tokenizer' field is not a tokenizer's JSON: "
                              f"{error}") from None
    if tokenizer.vocab_size != config.vocab_size:
        raise CheckpointError(f"{path}: tokenizer has {tokenizer.vocab_size} tokens but the "
                              f"model expects vocab_size={config.vocab_size}")
    state = check_weights(path, config, payload)
    model = model_class(config)
    model.load_state_dict(state)  # cannot fail: keys and shapes were checked
    return Checkpoint(model=model.to(map_location), tokenizer=tokenizer, payload=payload)
# --8<-- [end:load_entry]
# --8<-- [end:load]
