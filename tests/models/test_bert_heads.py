import torch

from snippets.models.bert import BertConfig, BertModel
from snippets.models.bert_heads import SequenceClassifier, SpanExtractor, TokenTagger, best_span

CONFIG = BertConfig(vocab_size=50, max_positions=16, n_layers=1, n_heads=2, d_model=16, d_ff=32)


def test_head_shapes_and_masking():
    torch.manual_seed(0)
    bert = BertModel(CONFIG).eval()
    ids = torch.randint(1, 50, (2, 10))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    assert SequenceClassifier(bert, 3).eval()(ids, attention_mask=mask).shape == (2, 3)
    assert TokenTagger(bert, 5).eval()(ids, attention_mask=mask).shape == (2, 10, 5)
    start, end = SpanExtractor(bert)(ids, attention_mask=mask)
    assert start.shape == end.shape == (2, 10) and torch.isneginf(start[1, 6:]).all()
    i, j = best_span(start, end)
    assert (i <= j).all() and j[1] < 6


def test_best_span_respects_order_and_length():
    start = torch.tensor([[-10.0, 5.0, 0.0, 0.0]])
    end = torch.tensor([[9.0, 0.0, 0.0, 1.0]])   # the best end (0) lies before the best start
    i, j = best_span(start, end)
    assert (i.item(), j.item()) == (1, 3)
    i, j = best_span(start, end, max_len=2)
    assert (i.item(), j.item()) == (1, 1)
