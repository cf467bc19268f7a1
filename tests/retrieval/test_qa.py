import pytest

from snippets.retrieval.qa import load_qa, topic_documents


def test_questions_are_unique_and_every_relevant_document_exists():
    qa = load_qa()
    assert len(set(qa.questions)) == len(qa.questions) > 700
    assert len(set(qa.documents)) == len(qa.documents)
    assert all(r and all(0 <= int(d) < len(qa.documents) for d in r) for r in qa.qrels)
    assert max(len(r) for r in qa.qrels) > 1    # some questions have several answers


def test_topic_documents_hold_every_answer_whole_and_respect_the_size():
    docs, answers = topic_documents(300), load_qa().documents
    assert all(len(d.split()) <= 300 for d in docs)
    assert sum(len(d.split()) for d in docs) == sum(len(a.split()) for a in answers)  # each answer once
    for a in answers:                      # and whole, never cut between two documents
        assert any(" ".join(a.split()) in d for d in docs)
    with pytest.raises(ValueError, match="max_words must be positive, got 0"):
        topic_documents(0)


def test_split_is_a_seeded_partition_of_the_questions():
    from snippets.retrieval.qa import split_questions

    train, test = split_questions(9, test_fraction=1 / 3, seed=0)
    assert len(test) == 3 and sorted(train + test) == list(range(9))
    assert split_questions(9, 1 / 3, 0) == (train, test) != split_questions(9, 1 / 3, 1)
    with pytest.raises(ValueError, match="0 < test_fraction < 1"):
        split_questions(9, 1.0)
