import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from snippets.models.gpt import GPT, GPTConfig
from snippets.models.llama import Llama, LlamaConfig
from snippets.models.vocabulary import PUBLISHED, vocabulary_cost

TINY = [GPTConfig(vocab_size=500, context_length=16, n_layers=2, n_heads=4, d_model=64),
        GPTConfig(vocab_size=500, context_length=16, n_layers=2, n_heads=4, d_model=64, tie_weights=False),
        LlamaConfig(vocab_size=700, n_layers=2, n_heads=4, n_kv_heads=2, d_model=64, d_ff=160),
        LlamaConfig(vocab_size=700, n_layers=2, n_heads=4, n_kv_heads=1, d_model=64, d_ff=160,
                    tie_weights=True)]


@pytest.mark.parametrize("config", TINY, ids=["gpt-tied", "gpt-untied", "llama-untied", "llama-tied"])
def test_cost_matches_a_built_model_and_its_measured_flops(config):
    torch.manual_seed(0)
    model = (GPT if isinstance(config, GPTConfig) else Llama)(config)
    cost = vocabulary_cost(config)
    assert cost.params == sum(p.numel() for p in model.parameters())  # a tied table counted once
    tables = {id(m.weight): m.weight.numel() for m in (model.wte, model.lm_head)}
    assert cost.vocab_params == sum(tables.values())  # keyed by tensor: a tied pair is one table
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 1, dtype=torch.long))  # one token: attention's T-terms vanish
    measured = counter.get_total_flops()
    head = [sum(v.values()) for k, v in counter.get_flop_counts().items() if k.endswith(".lm_head")]
    assert cost.head_flops == 2 * config.vocab_size * config.d_model
    # the blocks and the head are all matrix products; norms and biases are the small difference
    assert cost.matmul_flops == pytest.approx(measured, rel=0.03)
    assert head == [cost.head_flops]


def test_published_totals_are_the_reported_parameter_counts():
    totals = {name: vocabulary_cost(c).params for name, c in PUBLISHED.items()}
    assert totals["GPT-2 small"] == 124_439_808
    assert totals["Llama 3 8B"] == 8_030_261_248
    assert totals["Llama 2 7B"] == 6_738_415_616
    # Gemma 2B: 524,550,144 embedding + 1,981,884,416 non-embedding parameters (Gemma Team, Table 2)
    gemma = vocabulary_cost(PUBLISHED["Gemma 2B"])
    assert (gemma.vocab_params, gemma.params - gemma.vocab_params) == (524_550_144, 1_981_884_416)


def test_bigger_models_pay_a_smaller_share_for_the_same_vocabulary():
    small, large = vocabulary_cost(PUBLISHED["Llama 3 8B"]), vocabulary_cost(PUBLISHED["Llama 3 70B"])
    assert large.param_share < small.param_share and large.flop_share < small.flop_share


def test_rejects_other_configs():
    with pytest.raises(TypeError, match="GPTConfig or LlamaConfig"):
        vocabulary_cost(object())
