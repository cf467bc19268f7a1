"""Parity with the reference implementations, as numbers: the maximum absolute differences.

The unit tests assert each of these within a tolerance; this benchmark records how close they
actually are, with the versions of the libraries compared against, in results/parity.json,
which the Verified page reads. It takes seconds, so the Pages workflow can run it on every
deploy (`python -m benchmarks parity`).
"""

from __future__ import annotations

import datetime
import json
import os
import platform

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import tokenizers  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402
from torch import nn  # noqa: E402
from transformers.models.t5.modeling_t5 import T5Attention  # noqa: E402

from benchmarks.report import RESULTS, load_average  # noqa: E402
from snippets.layers.attention import scaled_dot_product_attention, tiled_attention  # noqa: E402
from snippets.layers.blocks import SelfAttentionBlock  # noqa: E402
from snippets.layers.positional import t5_bucket  # noqa: E402
from snippets.models.gpt import GPT, GPTConfig, from_hf_gpt2  # noqa: E402
from snippets.tokenizers.bpe import ByteLevelBPE  # noqa: E402


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item()


def check(name: str, page: str, against: str, value: float, goal: float, unit: str = "") -> dict:
    return {"name": name, "page": page, "against": against, "max_abs_diff": value,
            "goal": goal, "met": value <= goal, "unit": unit}


def sdpa_checks() -> list[dict]:
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 4, 33, 16, generator=g) * 2 for _ in range(3))
    keep = torch.rand(2, 1, 33, 33, generator=g) > 0.3
    keep[..., 0] = True  # every query keeps a key
    page = "attention_mechanism_deep_dive.md"
    torch_sdpa = "torch F.scaled_dot_product_attention"
    return [
        check("Scaled dot-product attention, no mask (float32)", page, torch_sdpa,
              max_diff(scaled_dot_product_attention(q, k, v)[0], F.scaled_dot_product_attention(q, k, v)), 1e-5),
        check("Scaled dot-product attention, causal (float32)", page, torch_sdpa,
              max_diff(scaled_dot_product_attention(q, k, v, is_causal=True)[0],
                       F.scaled_dot_product_attention(q, k, v, is_causal=True)), 1e-5),
        check("Scaled dot-product attention, boolean mask (float32)", page, torch_sdpa,
              max_diff(scaled_dot_product_attention(q, k, v, mask=keep)[0],
                       F.scaled_dot_product_attention(q, k, v, attn_mask=keep)), 1e-5),
        check("Tiled online-softmax attention, tiles 8 x 8, causal (float32)", page, torch_sdpa,
              max_diff(tiled_attention(q, k, v, 8, 8, is_causal=True),
                       F.scaled_dot_product_attention(q, k, v, is_causal=True)), 1e-5),
    ]


def block_check() -> dict:
    torch.manual_seed(0)
    ours = SelfAttentionBlock(16, 4, 32, norm_first=True, activation="relu").eval()
    reference = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True, norm_first=True).eval()
    with torch.no_grad():
        attn = reference.self_attn
        attn.in_proj_weight.copy_(torch.cat([ours.attn.q_proj.weight, ours.attn.k_proj.weight,
                                             ours.attn.v_proj.weight]))
        attn.in_proj_bias.copy_(torch.cat([ours.attn.q_proj.bias, ours.attn.k_proj.bias,
                                           ours.attn.v_proj.bias]))
        attn.out_proj.load_state_dict(ours.attn.out_proj.state_dict())
        reference.linear1.load_state_dict(ours.ffn.up.state_dict())
        reference.linear2.load_state_dict(ours.ffn.down.state_dict())
        reference.norm1.load_state_dict(ours.norm1.state_dict())
        reference.norm2.load_state_dict(ours.norm2.state_dict())
        x = torch.randn(2, 7, 16)
        value = max_diff(ours(x), reference(x))
    return check("Pre-LN encoder layer (float32)", "transformer_architecture_complete.md",
                 "torch nn.TransformerEncoderLayer", value, 1e-5)


def gpt_checks() -> list[dict]:
    hf_config = transformers.GPT2Config(vocab_size=37, n_positions=24, n_embd=32, n_layer=3,
                                        n_head=4, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(hf_config).eval()
    with torch.no_grad():  # random LayerNorm biases, so that the weight mapping is exercised
        for name, p in hf.named_parameters():
            if "ln_" in name:
                p.add_(0.1 * torch.randn_like(p))
    config = GPTConfig(vocab_size=37, context_length=24, n_layers=3, n_heads=4, d_model=32)
    ours: GPT = from_hf_gpt2(hf.state_dict(), config).eval()
    idx = torch.randint(0, 37, (2, 24))
    prompt = idx[:1, :5]
    with torch.no_grad():
        logits = max_diff(ours(idx)[0], hf(idx).logits)
        expected = hf.generate(prompt, max_new_tokens=12, do_sample=False,
                               attention_mask=torch.ones_like(prompt), pad_token_id=0)
        greedy = (ours.generate(prompt, 12, temperature=0.0) != expected).sum().item()
        full = ours(idx)[0]
        caches = ours.new_caches(2)
        steps = [ours(idx[:, :4], caches=caches)[0]]
        steps += [ours(idx[:, t:t + 1], caches=caches)[0] for t in range(4, 24)]
        cached = max_diff(torch.cat(steps, dim=1), full)
    page = "gpt_family.md"
    return [
        check("GPT-2 logits, 3 layers (float32)", page, "transformers GPT2LMHeadModel", logits, 1e-4),
        check("GPT-2 greedy continuation, 12 tokens: tokens that differ", page,
              "transformers GPT2LMHeadModel.generate", float(greedy), 0.0, "tokens"),
        check("KV-cached logits against the full forward pass (float32)", page,
              "our GPT without the cache", cached, 1e-5),
    ]


def t5_check() -> dict:
    rel = torch.arange(-300, 301).unsqueeze(0)
    value = max(max_diff(t5_bucket(rel, b, 32, 128), T5Attention._relative_position_bucket(rel, b, 32, 128))
                for b in (True, False))
    return check("T5 relative-position buckets", "transformer_architecture_complete.md",
                 "transformers T5Attention", value, 0.0, "buckets")


def bpe_check() -> dict:
    text = " ".join(["the quick brown fox jumps over the lazy dog", "tokenization matters",
                     "attention is all you need", "byte pair encoding merges pairs"] * 60)
    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    hf.decoder = decoders.ByteLevel()
    hf.train_from_iterator([text], trainers.BpeTrainer(
        vocab_size=320, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    model = json.loads(hf.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    ours = ByteLevelBPE.from_hf(model["vocab"], merges, "gpt2")
    probe = text[:2000] + " Unseen wörds, 31415926 and 🙃!"
    a, b = ours.encode(probe), hf.encode(probe).ids
    differ = sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))
    return check("Byte-level BPE encoding with merges trained by tokenizers: ids that differ",
                 "tokenization.md", "tokenizers BPE", float(differ), 0.0, "ids")


def lstm_check() -> dict:
    from snippets.layers.recurrent import Recurrent, load_torch_weights

    torch.manual_seed(1)
    theirs = nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True).double()
    ours = load_torch_weights(Recurrent("lstm", 5, 7, num_layers=2, bidirectional=True).double(), theirs)
    x = torch.randn(3, 11, 5, dtype=torch.double)
    with torch.no_grad():
        value = max_diff(ours(x)[0], theirs(x)[0])
    return check("Two-layer bidirectional LSTM (float64)", "why_rnns_failed_at_scale.md",
                 "torch nn.LSTM", value, 1e-12)


def bert_check() -> dict:
    from snippets.models.bert import BertConfig, bert_mlm_from_hf

    hf_config = transformers.BertConfig(vocab_size=101, hidden_size=32, num_hidden_layers=2,
                                        num_attention_heads=4, intermediate_size=64,
                                        max_position_embeddings=24)
    torch.manual_seed(0)
    reference = transformers.BertForMaskedLM(hf_config).eval()
    ours = bert_mlm_from_hf(reference.state_dict(), BertConfig(
        vocab_size=101, max_positions=24, n_layers=2, n_heads=4, d_model=32, d_ff=64)).eval()
    ids = torch.randint(1, 101, (3, 12), generator=torch.Generator().manual_seed(1))
    segments = torch.tensor([[0] * 6 + [1] * 6] * 3)
    mask = torch.ones_like(ids)
    mask[1, 9:], mask[2, 4:] = 0, 0
    with torch.no_grad():
        theirs = reference(input_ids=ids, token_type_ids=segments, attention_mask=mask).logits
        mine, _ = ours(ids, segments, mask)
    real = mask.bool()
    return check("BERT masked-LM logits on real tokens, 2 layers (float32)", "bert_family.md",
                 "transformers BertForMaskedLM", max_diff(mine[real], theirs[real]), 1e-5)


def llama_check() -> dict:
    from snippets.models.float64_reference import llama_in_dtype
    from snippets.models.llama import from_hf_llama, llama_config_from_hf

    hf_config = transformers.LlamaConfig(
        vocab_size=61, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=40,
        rms_norm_eps=1e-5, bos_token_id=None, eos_token_id=None, pad_token_id=None,
        attn_implementation="sdpa")
    torch.manual_seed(0)
    reference = llama_in_dtype(transformers.LlamaForCausalLM(hf_config).double().eval())
    ours = from_hf_llama(reference.state_dict(), llama_config_from_hf(hf_config)).eval()
    idx = torch.randint(0, 61, (3, 20), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        value = max_diff(ours(idx)[0], reference(idx).logits)
    return check("Llama-style decoder logits, GQA 2 of 4 heads, 2 layers (float64)", "gpt_family.md",
                 "transformers LlamaForCausalLM", value, 1e-10)


def mixtral_checks() -> list[dict]:
    from transformers.models.mixtral.modeling_mixtral import (MixtralSparseMoeBlock,
                                                              load_balancing_loss_func)

    from snippets.layers.moe import SparseMoE, load_balancing_loss
    from snippets.models.float64_reference import mixtral_router_in_dtype

    C, F_, E, K = 16, 24, 4, 2
    config = transformers.MixtralConfig(hidden_size=C, intermediate_size=F_, num_local_experts=E,
                                        num_experts_per_tok=K)
    torch.manual_seed(0)
    theirs = MixtralSparseMoeBlock(config)
    for p in theirs.parameters():
        nn.init.normal_(p, std=0.3)
    theirs = theirs.double().eval()
    mixtral_router_in_dtype(theirs.gate)
    ours = SparseMoE(C, F_, E, K).double()
    ours.router.proj.weight.data.copy_(theirs.gate.weight)
    for e, expert in enumerate(ours.experts):
        gate, up = theirs.experts.gate_up_proj[e].chunk(2, dim=0)
        expert.gate.weight.data.copy_(gate)
        expert.up.weight.data.copy_(up)
        expert.down.weight.data.copy_(theirs.experts.down_proj[e])
    x = torch.randn(3, 7, C, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = max_diff(ours(x), theirs(x))
        logits = max_diff(ours.router_logits, theirs.gate(x)[0])
    layers = tuple(torch.randn(40, E, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 2
                   for _ in range(2))
    aux = abs(load_balancing_loss(torch.cat(layers), K).item() - load_balancing_loss_func(layers, E, K).item())
    page, against = "gpt_family.md", "transformers MixtralSparseMoeBlock"
    return [check("Mixture-of-experts layer output, 4 experts, top-2 (float64)", page, against, out, 1e-10),
            check("Mixture-of-experts router logits (float64)", page, against, logits, 1e-10),
            check("Load-balancing loss (transformers accumulates in float32)", page,
                  "transformers load_balancing_loss_func", aux, 1e-6)]


def main() -> None:
    before = load_average()
    torch.manual_seed(0)
    checks = (sdpa_checks() + [block_check()] + gpt_checks() + [t5_check(), bpe_check()]
              + [lstm_check(), bert_check(), llama_check()] + mixtral_checks())
    record = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "libraries": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
        "load_average": {"before": before, "after": load_average()},
        "checks": checks,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "parity.json").write_text(json.dumps(record, indent=2) + "\n")
    for c in checks:
        print(f"{c['name']}: max |difference| {c['max_abs_diff']:.3g} (goal <= {c['goal']:g}) "
              f"{'met' if c['met'] else 'NOT MET'}")


if __name__ == "__main__":
    main()
