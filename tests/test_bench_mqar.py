"""The MQAR benchmark's task and models: every scored position asks for the value that was
paired with its key earlier in the sequence, and every mixer is causal."""

import pytest
import torch

from benchmarks.bench_mqar import D_STATE, KEYS, Recaller, SSDMixer, mqar_batch, state_numbers


def test_each_target_is_the_value_paired_with_the_repeated_key():
    ids, targets = mqar_batch(n=8, batch=4, gen=torch.Generator().manual_seed(0))
    assert ids.shape == targets.shape == (4, 32)
    for row, target in zip(ids.tolist(), targets.tolist()):
        pairs = dict(zip(row[0:16:2], row[1:16:2]))
        assert len(pairs) == 8 and all(k < KEYS <= v for k, v in pairs.items())   # distinct keys
        scored = [t for t, y in enumerate(target) if y != -100]
        assert scored == list(range(16, 32, 2))                                    # the repeated keys
        assert sorted(row[t] for t in scored) == sorted(pairs)                      # each key once
        assert all(target[t] == pairs[row[t]] == row[t + 1] for t in scored)


@pytest.mark.parametrize("kind", ["attention", "linear attention", "selective SSM (SSD)"])
def test_the_future_does_not_change_the_past(kind):
    torch.manual_seed(0)
    model = Recaller(kind).double()
    ids, _ = mqar_batch(n=6, batch=2, gen=torch.Generator().manual_seed(1))
    changed = ids.clone()
    changed[:, 15:] = (changed[:, 15:] + 1) % KEYS
    torch.testing.assert_close(model(changed)[:, :15], model(ids)[:, :15], rtol=1e-12, atol=1e-12)


def test_only_attentions_state_grows_with_the_pairs():
    assert state_numbers("attention", 64) == 16 * state_numbers("attention", 4)
    for kind in ("linear attention", "selective SSM (SSD)"):
        assert state_numbers(kind, 64) == state_numbers(kind, 4)


def test_earlier_tokens_reach_the_ssd_output_at_initialisation():
    """The recall path must not start drowned. With a skip D x started at 1, steps of 1e-3 to
    1e-1 and B, C made from the x branch, the SSM moved the last output by about 1% when the
    first half of the sequence changed (RMSNorm divided it by the skip's size), and training
    stayed at chance; the mixer now starts at tens of per cent."""
    torch.manual_seed(0)
    mixer = SSDMixer(64, 2, D_STATE).double()
    x = torch.randn(16, 16, 64, dtype=torch.float64)
    changed = x.clone()
    changed[:, :8] = torch.randn(16, 8, 64, dtype=torch.float64)
    last, last_changed = mixer(x)[:, -1], mixer(changed)[:, -1]
    share = ((last_changed - last).norm(dim=-1) / last.norm(dim=-1)).mean()
    assert share > 0.05


def test_ssd_heads_must_split_the_width():
    with pytest.raises(ValueError, match="heads=3"):
        SSDMixer(64, 3, 8)
