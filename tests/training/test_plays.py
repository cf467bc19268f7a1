from snippets.training.plays import load_plays, spoken_lines


def test_spoken_lines_drop_headings_speakers_and_directions():
    text = "# Hamlet\n\n## ACT I\n\n_Enter BERNARDO_\n\n**BERNARDO**  \nWho's there?\n\n**FRANCISCO**  \nNay, answer me:  \nstand.\n"
    assert spoken_lines(text) == ["Who's there?", "Nay, answer me:", "stand."]


def test_the_38_plays_and_their_genres():
    plays = load_plays()
    assert len(plays) == 38
    assert plays["hamlet"][0] == "tragedies" and plays["henry-v"][0] == "histories"
    assert all(len(lines) > 1000 for _, lines in plays.values())
