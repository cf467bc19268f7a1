import pytest

from snippets.retrieval.qa import load_qa


def test_questions_are_unique_and_every_relevant_document_exists():
    qa = load_qa()
    assert len(set(qa.questions)) == len(qa.questions) > 700
    assert len(set(qa.documents)) == len(qa.documents)
    assert all(r and all(0 <= int(d) < len(qa.documents) for d in r) for r in qa.qrels)
    assert max(len(r) for r in qa.qrels) > 1    # some questions have several answers


def test_split_is_a_seeded_partition_of_the_questions():
    from snippets.retrieval.qa import split_questions

    train, test = split_questions(9, test_fraction=1 / 3, seed=0)
    assert len(test) == 3 and sorted(train + test) == list(range(9))
    assert split_questions(9, 1 / 3, 0) == (train, test) != split_questions(9, 1 / 3, 1)
    with pytest.raises(ValueError, match="0 < test_fraction < 1"):
        split_questions(9, 1.0)
