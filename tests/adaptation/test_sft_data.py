"""SFT data: the chat template's ids and labels by hand, loss on assistant tokens only,
packing equal to running each document alone (float64, our GPT), and the per-token mean
across gradient accumulation."""

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from snippets.adaptation.sft_data import (
    IGNORE, mean_of_means, pack, packed_mask, packed_positions, packed_targets, per_token_mean,
    render_chat, shifted_targets)
from snippets.models.gpt import GPT, GPTConfig
from snippets.training.loop import train_step

SPECIAL = {"system": 0, "user": 1, "assistant": 2, "end": 3}


def encode(text: str) -> list[int]:
    return [4 + ord(c) - ord("a") for c in text]   # a -> 4, b -> 5, ...


def test_chat_template_ids_and_labels_by_hand():
    ids, labels = render_chat([{"role": "system", "content": "a"},
                               {"role": "user", "content": "bc"},
                               {"role": "assistant", "content": "d"}], encode, SPECIAL)
    #              <sys> a  <end> <user> b  c  <end> <asst> d  <end>
    assert ids.tolist() == [0, 4, 3, 1, 5, 6, 3, 2, 7, 3]
    assert labels.tolist() == [IGNORE] * 8 + [7, 3]   # only the answer and its end marker


def test_every_assistant_turn_is_trained_in_a_multi_turn_chat():
    _, labels = render_chat([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                             {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}],
                            encode, SPECIAL)
    assert (labels != IGNORE).nonzero().flatten().tolist() == [4, 5, 10, 11]


@pytest.mark.parametrize("messages, match", [
    ([{"role": "user", "content": "a"}], "at least one assistant"),
    ([{"role": "bot", "content": "a"}, {"role": "assistant", "content": "b"}], "role must be"),
])
def test_bad_chats_are_refused(messages, match):
    with pytest.raises(ValueError, match=match):
        render_chat(messages, encode, SPECIAL)


def test_the_loss_sees_only_assistant_tokens():
    ids, labels = render_chat([{"role": "user", "content": "abc"},
                               {"role": "assistant", "content": "de"}], encode, SPECIAL)
    logits = torch.randn(len(ids) - 1, 10, dtype=torch.float64, requires_grad=True)
    targets = shifted_targets(labels)
    F.cross_entropy(logits, targets, ignore_index=IGNORE).backward()
    trained = targets != IGNORE
    assert trained.sum() == 3                                        # d, e, <end>
    assert (logits.grad[~trained] == 0).all() and (logits.grad[trained] != 0).all()


def test_positions_and_mask_by_hand():
    _, doc = pack([torch.tensor([5, 6]), torch.tensor([7, 8, 9])])
    assert packed_positions(doc).tolist() == [[0, 1, 0, 1, 2]]
    assert packed_mask(doc)[0, 0].int().tolist() == [[1, 0, 0, 0, 0],
                                                      [1, 1, 0, 0, 0],
                                                      [0, 0, 1, 0, 0],
                                                      [0, 0, 1, 1, 0],
                                                      [0, 0, 1, 1, 1]]


def tiny_gpt() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=12, context_length=16, n_layers=2, n_heads=2,
                         d_model=16)).double().eval()


def three_documents() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [torch.randint(0, 12, (n,), generator=g) for n in (4, 6, 3)]


def test_packed_logits_equal_each_document_run_alone():
    model, docs = tiny_gpt(), three_documents()
    ids, doc = pack(docs)
    with torch.no_grad():
        packed = model(ids, positions=packed_positions(doc), mask=packed_mask(doc))[0][0]
        alone = torch.cat([model(d[None])[0][0] for d in docs])
        naive = model(ids)[0][0]                    # no mask, positions running on
    assert_close(packed, alone, rtol=1e-12, atol=1e-12)
    assert (naive[4:] - alone[4:]).abs().max() > 1e-3  # the test has teeth: later documents differ
    assert_close(naive[:4], alone[:4], rtol=1e-12, atol=1e-12)  # the first one is unaffected


def test_packed_loss_equals_the_per_token_mean_over_documents():
    model, docs = tiny_gpt(), three_documents()
    ids, doc = pack(docs)
    targets = packed_targets(ids, doc)
    assert (targets == IGNORE).sum() == 2         # the two document boundaries
    with torch.no_grad():
        logits = model(ids, positions=packed_positions(doc), mask=packed_mask(doc))[0][0, :-1]
        packed = F.cross_entropy(logits, targets[0], ignore_index=IGNORE)
        per_doc = [F.cross_entropy(model(d[None])[0][0, :-1], d[1:], reduction="sum") for d in docs]
    assert_close(packed, sum(per_doc) / sum(len(d) - 1 for d in docs), rtol=1e-12, atol=1e-12)


def test_positions_and_mask_are_refused_with_bad_shapes_or_caches():
    model = tiny_gpt()
    ids = torch.zeros(1, 5, dtype=torch.long)
    with pytest.raises(ValueError, match="positions must be"):
        model(ids, positions=torch.arange(4)[None])
    with pytest.raises(ValueError, match="not with caches"):
        model(ids, positions=torch.arange(5)[None], caches=model.new_caches(1))


def test_mean_of_means_differs_from_the_per_token_mean_when_counts_differ():
    a, b = torch.tensor([1.0, 1.0, 1.0]), torch.tensor([4.0])   # 3 tokens and 1 token
    assert mean_of_means([a, b]).item() == pytest.approx((1 + 4) / 2)        # 2.5
    assert per_token_mean([a, b]).item() == pytest.approx((3 + 4) / 4)       # 1.75
    even = [torch.tensor([1.0, 3.0]), torch.tensor([2.0, 6.0])]
    assert mean_of_means(even).item() == pytest.approx(per_token_mean(even).item())


def test_the_trainer_with_grad_accum_reports_the_per_token_mean():
    model = tiny_gpt().train()
    g = torch.Generator().manual_seed(2)
    x = torch.randint(0, 12, (3, 8), generator=g)
    y = torch.randint(0, 12, (3, 8), generator=g)
    y[0, 2:] = IGNORE                            # micro-batch 1 (row 0): 2 tokens
    y[2, 7:] = IGNORE                            # micro-batch 2 (rows 1, 2): 15 tokens
    with torch.no_grad():
        token_losses = [F.cross_entropy(model(xi)[0].reshape(-1, 12), yi.reshape(-1),
                                        ignore_index=IGNORE, reduction="none")[yi.reshape(-1) != IGNORE]
                        for xi, yi in zip(x.tensor_split(2), y.tensor_split(2), strict=True)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    loss, _ = train_step(model, optimizer, x, y, lr=0.0, grad_clip=0.0, grad_accum=2)
    assert loss == pytest.approx(per_token_mean(token_losses).item(), rel=1e-12)
    assert loss != pytest.approx(mean_of_means(token_losses).item(), rel=1e-3)
