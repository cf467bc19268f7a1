"""The validation split of bench_finetune_validation: held-out plays, nothing shared."""

from benchmarks.bench_finetune_validation import VAL_PLAYS, splits
from benchmarks.finetune_common import TEST_PLAYS, genre_data, speeches_by_play


def test_validation_plays_leave_training_and_the_test_set_is_the_cost_benchmarks():
    data = splits()
    train, val, test = (set(data[k][0]) for k in ("train", "val", "test"))
    assert not (train & val) and not (train & test) and not (val & test)
    held = {s for genre, play in VAL_PLAYS.items() for s in speeches_by_play(genre)[play]}
    assert val <= held and not (train & held)
    assert not set(VAL_PLAYS.values()) & TEST_PLAYS
    assert data["test"][0] == genre_data()["test"][0]
    assert data["val"][1].tolist().count(0) == data["val"][1].tolist().count(1)  # balanced
