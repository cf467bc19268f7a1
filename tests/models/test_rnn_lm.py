"""The character LSTM: both implementations agree and the model fits the training loop's API."""

import pytest
import torch

from snippets.layers.recurrent import load_torch_weights
from snippets.models.rnn_lm import CharLSTM, CharLSTMConfig


def test_ours_equals_torch_and_loss_is_cross_entropy():
    torch.manual_seed(0)
    theirs = CharLSTM(CharLSTMConfig(vocab_size=11, d_embed=6, hidden=8, n_layers=2)).double()
    ours = CharLSTM(CharLSTMConfig(vocab_size=11, d_embed=6, hidden=8, n_layers=2, impl="ours")).double()
    ours.embed.load_state_dict(theirs.embed.state_dict())
    ours.head.load_state_dict(theirs.head.state_dict())
    load_torch_weights(ours.lstm, theirs.lstm)
    x = torch.randint(0, 11, (3, 9))
    y = torch.randint(0, 11, (3, 9))
    logits_t, loss_t = theirs(x, y)
    logits_o, loss_o = ours(x, y)
    assert logits_o.shape == (3, 9, 11)
    torch.testing.assert_close(logits_o, logits_t)
    torch.testing.assert_close(loss_o, loss_t)
    assert ours.num_parameters() == theirs.num_parameters()


def test_config_errors():
    with pytest.raises(ValueError, match="impl must be"):
        CharLSTMConfig(impl="cudnn")
    with pytest.raises(ValueError, match="hidden must be >= 1"):
        CharLSTMConfig(hidden=0)
