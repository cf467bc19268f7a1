"""Knowledge distillation (Hinton et al., 2015, arXiv:1503.02531), as DistilBERT uses it
(Sanh et al., 2019, arXiv:1910.01108): the student matches the teacher's distribution
softened by a temperature tau (the page's τ), and the soft term is multiplied by tau^2 so that
its gradients keep their size as tau changes.

Shape legend: N examples (or B*T positions), K classes (or V vocabulary entries).
"""

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
# --8<-- [end:imports]


# --8<-- [start:loss]
def soft_cross_entropy(student_logits: torch.Tensor, teacher_probs: torch.Tensor,
                       temperature: float = 1.0) -> torch.Tensor:
    """-(1/N) sum_n sum_k p_teacher[n, k] log softmax(z_student / tau)[n, k]; (N, K), (N, K) -> ()."""
    if student_logits.shape != teacher_probs.shape:
        raise ValueError(f"student logits {tuple(student_logits.shape)} and teacher probabilities "
                         f"{tuple(teacher_probs.shape)} must have the same shape")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    log_q = F.log_softmax(student_logits / temperature, dim=-1)   # (N, K)
    return -(teacher_probs * log_q).sum(dim=-1).mean()


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      labels: torch.Tensor | None = None, temperature: float = 2.0,
                      alpha: float = 0.5) -> torch.Tensor:
    """alpha * tau^2 * CE(softmax(z_t / tau), softmax(z_s / tau)) + (1 - alpha) * CE(labels, z_s).

    d/dz_s of the soft term is tau^2 * (q - p) / tau = tau (q - p): of the order of 1/tau for large
    tau (Hinton et al.'s 1/tau^2 after expanding q - p), hence the tau^2 that restores the scale.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if labels is None and alpha < 1.0:
        raise ValueError("alpha < 1 mixes in the hard-label loss: give labels")
    p_teacher = F.softmax(teacher_logits.detach() / temperature, dim=-1)   # (N, K), no gradient to the teacher
    loss = alpha * temperature**2 * soft_cross_entropy(student_logits, p_teacher, temperature)
    if alpha < 1.0:
        loss = loss + (1.0 - alpha) * F.cross_entropy(student_logits, labels)
    return loss
# --8<-- [end:loss]
