import random

import pytest
import torch

from snippets.models.sentence_pairs import collate_pairs, nsp_pairs, pack_pair, sop_pairs

DOCS = [[[10 * d + i] for i in range(6)] for d in range(4)]   # doc d, segment i -> [10d + i]


def test_nsp_positives_follow_negatives_come_from_other_documents():
    pairs = nsp_pairs(DOCS, random.Random(0))
    assert len(pairs) == 4 * 5
    for a, b, label in pairs:
        if label == 1:
            assert b[0] == a[0] + 1
        else:
            assert b[0] // 10 != a[0] // 10
    assert 5 <= sum(label for *_, label in pairs) <= 15


def test_sop_swaps_consecutive_segments_of_one_document():
    pairs = sop_pairs(DOCS, random.Random(0))
    for a, b, label in pairs:
        assert a[0] // 10 == b[0] // 10                      # same document, always
        assert (b[0] - a[0]) == (1 if label == 1 else -1)
    assert {label for *_, label in pairs} == {0, 1}


def test_pack_pair_layout_and_truncation():
    ids, seg = pack_pair([5, 6, 7], [8, 9], cls_id=2, sep_id=3, max_len=16)
    assert ids == [2, 5, 6, 7, 3, 8, 9, 3] and seg == [0, 0, 0, 0, 0, 1, 1, 1]
    ids, seg = pack_pair(list(range(10, 30)), [8, 9], cls_id=2, sep_id=3, max_len=8)
    assert len(ids) == 8 and ids[-3:] == [8, 9, 3]           # the longer segment was cut
    x, s, m = collate_pairs([pack_pair([5], [6], 2, 3, 8), pack_pair([5, 5, 5], [6], 2, 3, 8)], pad_id=0)
    assert x.shape == (2, 7) and torch.equal(m.sum(1), torch.tensor([5, 7]))


def test_errors():
    with pytest.raises(ValueError, match="two non-empty documents"):
        nsp_pairs(DOCS[:1], random.Random(0))
    with pytest.raises(ValueError, match="two segments"):
        sop_pairs([[[1]]], random.Random(0))
    with pytest.raises(ValueError, match="max_len"):
        pack_pair([1], [2], 2, 3, max_len=4)
