"""Gradient accumulation: A micro-batches of B give the gradient of one batch of A * B."""
import pytest
import torch

from snippets.models.gpt import GPT, GPTConfig
from snippets.training.loop import IGNORE_INDEX, TrainConfig, TrainState, make_optimizer, train, \
    train_step
from snippets.training.text_data import train_val_split

V, T = 24, 8


def tiny_model(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    config = GPTConfig(vocab_size=V, context_length=T, n_layers=2, n_heads=2, d_model=16)
    return GPT(config).double()


def padded_batch(rows: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets padded at the end of each row, by a different amount: uneven token counts."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, V, (rows, T), generator=g)
    y = torch.randint(0, V, (rows, T), generator=g)
    for row, keep in enumerate([8, 1, 3, 8, 2, 5][:rows]):
        y[row, keep:] = IGNORE_INDEX
    return x, y


def gradients_after_step(model: GPT, x, y, grad_accum: int) -> tuple[float, list[torch.Tensor]]:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the weights stay put
    loss, _ = train_step(model, optimizer, x, y, lr=0.0, grad_clip=0.0, grad_accum=grad_accum)
    return loss, [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("grad_accum", [2, 3, 4])  # 4: micro-batches of 2, 2, 1, 1 rows
def test_accumulated_gradients_equal_the_whole_batch_with_uneven_token_counts(grad_accum):
    x, y = padded_batch()
    loss_1, grads_1 = gradients_after_step(tiny_model(), x, y, 1)
    loss_a, grads_a = gradients_after_step(tiny_model(), x, y, grad_accum)
    assert loss_a == pytest.approx(loss_1, rel=1e-12)
    for g1, ga in zip(grads_1, grads_a, strict=True):
        torch.testing.assert_close(ga, g1, rtol=1e-10, atol=1e-13)


def test_the_naive_mean_of_micro_batch_means_is_a_different_gradient():
    """The test above has teeth: weighting every micro-batch by 1/A is measurably wrong here."""
    x, y = padded_batch()
    _, grads_1 = gradients_after_step(tiny_model(), x, y, 1)
    model = tiny_model()
    for xi, yi in zip(x.tensor_split(3), y.tensor_split(3), strict=True):
        (model(xi, yi)[1] / 3).backward()
    head = [p.grad for p in model.parameters()][0]
    assert (head - grads_1[0]).norm() > 0.05 * grads_1[0].norm()


def test_one_micro_batch_is_bit_for_bit_the_plain_step():
    x, y = padded_batch()
    _, grads = gradients_after_step(tiny_model(), x, y, 1)
    model = tiny_model()
    model(x, y)[1].backward()
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads, strict=True))


def test_an_all_padding_micro_batch_adds_nothing_and_an_all_padding_batch_is_refused():
    x, y = padded_batch(4)
    y[:2] = IGNORE_INDEX  # the first of two micro-batches has no target at all
    loss_1, grads_1 = gradients_after_step(tiny_model(), x, y, 1)
    loss_2, grads_2 = gradients_after_step(tiny_model(), x, y, 2)
    assert loss_2 == pytest.approx(loss_1, rel=1e-12)
    for g1, g2 in zip(grads_1, grads_2, strict=True):
        torch.testing.assert_close(g2, g1, rtol=1e-10, atol=1e-13)
    y[:] = IGNORE_INDEX
    with pytest.raises(ValueError, match="every target is padding"):
        gradients_after_step(tiny_model(), x, y, 2)


def test_more_micro_batches_than_rows_is_refused():
    x, y = padded_batch(4)
    with pytest.raises(ValueError, match=r"grad_accum must be in \[1, 4\] for a batch of 4, got 5"):
        gradients_after_step(tiny_model(), x, y, 5)
    with pytest.raises(ValueError, match="grad_accum must be >= 1, got 0"):
        TrainConfig(grad_accum=0)


def test_the_trainer_with_2_micro_batches_of_8_follows_the_run_with_batches_of_16():
    data = torch.randint(0, V, (2_000,), generator=torch.Generator().manual_seed(1))
    train_data, val_data = train_val_split(data, 0.1)
    runs = []
    for batch_size, grad_accum in ((16, 1), (8, 2)):
        config = TrainConfig(batch_size=batch_size, grad_accum=grad_accum, max_steps=4, lr=3e-3,
                             warmup_steps=1, eval_interval=4, eval_iters=1)
        model, losses = tiny_model(), []
        train(model, make_optimizer(model, config), train_data, val_data, config,
              TrainState(batch_rng=torch.Generator().manual_seed(0)),
              on_step=lambda step, loss, lr: losses.append(loss))
        runs.append((losses, model))
    (losses_16, model_16), (losses_8x2, model_8x2) = runs
    assert losses_8x2 == pytest.approx(losses_16, rel=1e-12)  # the same windows every step
    for a, b in zip(model_16.parameters(), model_8x2.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
