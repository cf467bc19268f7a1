import pytest
import torch
import torch.nn.functional as F

from snippets.models.distillation import distillation_loss, soft_cross_entropy


def logits(seed: int, n: int = 6, k: int = 5) -> torch.Tensor:
    return torch.randn(n, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("T", [1.0, 2.0, 8.0])
def test_gradient_equals_analytic(T):
    """d/dz_s [T^2 CE(p_T(z_t), p_T(z_s))] = T (softmax(z_s / T) - softmax(z_t / T)) / N."""
    student, teacher = logits(0).requires_grad_(), logits(1)
    distillation_loss(student, teacher, temperature=T, alpha=1.0).backward()
    analytic = T * (F.softmax(student.detach() / T, -1) - F.softmax(teacher / T, -1)) / student.shape[0]
    torch.testing.assert_close(student.grad, analytic)


def test_t_squared_keeps_gradient_scale():
    """Without T^2 the soft gradient shrinks about like 1/T^2; with it, it stays of order 1."""
    student, teacher = logits(0), logits(1)
    norms = []
    for T in (4.0, 16.0):
        s = student.clone().requires_grad_()
        distillation_loss(s, teacher, temperature=T, alpha=1.0).backward()
        norms.append(s.grad.norm().item())
    assert 0.5 < norms[1] / norms[0] < 2.0


def test_reduces_to_cross_entropy_at_t1_with_hard_targets():
    student, labels = logits(0), torch.tensor([0, 1, 2, 3, 4, 0])
    one_hot = F.one_hot(labels, 5).double()
    torch.testing.assert_close(soft_cross_entropy(student, one_hot, 1.0), F.cross_entropy(student, labels))
    # alpha = 0 is the hard-label loss alone, whatever the teacher says
    torch.testing.assert_close(distillation_loss(student, logits(1), labels, temperature=3.0, alpha=0.0),
                               F.cross_entropy(student, labels))


def test_teacher_gets_no_gradient_and_errors():
    teacher = logits(1).requires_grad_()
    distillation_loss(logits(0).requires_grad_(), teacher, alpha=1.0).backward()
    assert teacher.grad is None
    with pytest.raises(ValueError, match="give labels"):
        distillation_loss(logits(0), logits(1), alpha=0.5)
    with pytest.raises(ValueError, match="temperature"):
        soft_cross_entropy(logits(0), F.softmax(logits(1), -1), 0.0)
    with pytest.raises(ValueError, match="same shape"):
        soft_cross_entropy(logits(0), logits(1, k=4), 1.0)
