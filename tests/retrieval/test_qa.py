from snippets.retrieval.qa import load_qa


def test_questions_are_unique_and_every_relevant_document_exists():
    qa = load_qa()
    assert len(set(qa.questions)) == len(qa.questions) > 700
    assert len(set(qa.documents)) == len(qa.documents)
    assert all(r and all(0 <= int(d) < len(qa.documents) for d in r) for r in qa.qrels)
    assert max(len(r) for r in qa.qrels) > 1    # some questions have several answers
