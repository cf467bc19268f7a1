import math

import numpy as np
import pytest
import torch

from snippets.models.bert import BertConfig, BertModel
from snippets.retrieval.cross_encoder import CrossEncoder, cross_encoder_rerank, listwise_loss, pair_batch, score_pairs
from snippets.tokenizers.wordpiece import WordPiece

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "where", "is", "paris", "france", "bananas", "yellow"]
TOKENIZER = WordPiece(VOCAB)


def tiny_model(seed: int = 0) -> CrossEncoder:
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(VOCAB), max_positions=16, n_layers=1, n_heads=2, d_model=8, d_ff=16)
    return CrossEncoder(BertModel(config)).eval()


def test_pairs_are_packed_as_cls_query_sep_document_sep_with_segments_and_padding():
    ids, segments, mask = pair_batch(TOKENIZER, ["where is paris", "where"], ["france", "bananas yellow"])
    # [CLS]=2 where=4 is=5 paris=6 [SEP]=3 france=7 [SEP]=3; the second pair is padded with [PAD]=0
    assert ids.tolist() == [[2, 4, 5, 6, 3, 7, 3], [2, 4, 3, 8, 9, 3, 0]]
    assert segments.tolist() == [[0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 1, 0]]
    assert mask.tolist() == [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0]]


def test_listwise_loss_by_hand():
    # positive score 2 against negatives 0 and 0: -log(e^2 / (e^2 + 2))
    assert listwise_loss(torch.tensor([[2.0, 0.0, 0.0]])).item() == pytest.approx(-math.log(math.e**2 / (math.e**2 + 2)))
    # all scores equal: log(1 + n), the loss of the zero-initialised head
    assert listwise_loss(torch.zeros(3, 4)).item() == pytest.approx(math.log(4))


def test_a_new_head_scores_every_pair_zero_and_one_step_moves_the_positive_up():
    model = tiny_model().train()
    batch = pair_batch(TOKENIZER, ["where is paris"] * 3, ["france", "bananas", "yellow"])
    scores = model(*batch)
    assert scores.shape == (3,) and torch.equal(scores, torch.zeros(3))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(5):
        loss = listwise_loss(model(*batch)[None])
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = model(*batch)
    assert after[0] > after[1:].max()


def test_rerank_reorders_candidates_by_the_model_and_keeps_ties_in_first_stage_order():
    model = tiny_model()
    docs = ["france", "bananas yellow", "france"]
    with torch.no_grad():
        model.head.weight.normal_()
    scores, ids = cross_encoder_rerank(model, TOKENIZER, ["where is paris"], docs, np.array([[1, 2, 0]]), k=3)
    # documents 0 and 2 are the same text: equal scores, first-stage order (2 before 0) kept
    by_doc = dict(zip(ids[0].tolist(), scores[0].tolist()))
    assert by_doc[0] == by_doc[2]
    assert list(ids[0]).index(2) < list(ids[0]).index(0)
    assert (np.diff(scores[0]) <= 0).all()


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="one document per query"):
        pair_batch(TOKENIZER, ["where"], ["france", "paris"])
    with pytest.raises(ValueError, match=r"\(B, 1 \+ n\)"):
        listwise_loss(torch.zeros(3, 1))
    with pytest.raises(ValueError, match="1 <= k <= 2"):
        cross_encoder_rerank(tiny_model(), TOKENIZER, ["where"], ["france", "paris"], np.array([[0, 1]]), k=3)


def test_scoring_in_length_sorted_batches_gives_the_scores_of_one_padded_batch_in_order():
    model = tiny_model()
    with torch.no_grad():
        model.head.weight.normal_()
        queries = ["where is paris", "where", "bananas", "where is"]
        docs = ["france", "bananas yellow paris france", "yellow", "paris"]
        whole = model(*pair_batch(TOKENIZER, queries, docs))
        torch.testing.assert_close(score_pairs(model, TOKENIZER, queries, docs, batch_size=2), whole)
