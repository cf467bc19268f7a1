"""The fine-tuning paradigm of BERT (Devlin et al., 2018, arXiv:1810.04805, section 4): one
pre-trained encoder, and per task a small head trained with it. Sentence classification reads
the pooled [CLS] vector; token tagging reads every position; span extraction (SQuAD) scores
each position as the start and as the end of the answer.

Shape legend: B batch, T time, C model width, K classes.
"""

# --8<-- [start:imports]
import torch
from torch import nn

from snippets.models.bert import BertModel
# --8<-- [end:imports]


# --8<-- [start:heads]
# --8<-- [start:heads_classify_tag]
class SequenceClassifier(nn.Module):
    """logits = W tanh(W_p h_[CLS] + b_p) + b: (B, T) ids -> (B, K)."""

    def __init__(self, bert: BertModel, n_classes: int, dropout: float = 0.1):
        super().__init__()
        self.bert, self.drop = bert, nn.Dropout(dropout)
        self.head = nn.Linear(bert.config.d_model, n_classes)

    def forward(self, ids: torch.Tensor, segments: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        _, pooled = self.bert(ids, segments, attention_mask)   # (B, C)
        return self.head(self.drop(pooled))                    # (B, K)


class TokenTagger(nn.Module):
    """One label per token (named entities, part of speech): (B, T) ids -> (B, T, K)."""

    def __init__(self, bert: BertModel, n_tags: int, dropout: float = 0.1):
        super().__init__()
        self.bert, self.drop = bert, nn.Dropout(dropout)
        self.head = nn.Linear(bert.config.d_model, n_tags)

    def forward(self, ids: torch.Tensor, segments: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        hidden, _ = self.bert(ids, segments, attention_mask)   # (B, T, C)
        return self.head(self.drop(hidden))                    # (B, T, K)
# --8<-- [end:heads_classify_tag]


# --8<-- [start:heads_span]
class SpanExtractor(nn.Module):
    """Question in segment A, passage in segment B: start and end logits per token, (B, T) each."""

    def __init__(self, bert: BertModel):
        super().__init__()
        self.bert = bert
        self.head = nn.Linear(bert.config.d_model, 2)         # a start vector S and an end vector E

    def forward(self, ids: torch.Tensor, segments: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        hidden, _ = self.bert(ids, segments, attention_mask)   # (B, T, C)
        start, end = self.head(hidden).unbind(dim=-1)          # (B, T), (B, T)
        if attention_mask is not None:  # an answer never starts or ends on padding
            start = start.masked_fill(attention_mask == 0, float("-inf"))
            end = end.masked_fill(attention_mask == 0, float("-inf"))
        return start, end


def best_span(start: torch.Tensor, end: torch.Tensor, max_len: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    """argmax over i <= j < i + max_len of start_i + end_j, per row: (B, T), (B, T) -> (B,), (B,)."""
    T = start.shape[-1]
    score = start.unsqueeze(-1) + end.unsqueeze(-2)            # (B, T_start, T_end)
    i = torch.arange(T)
    allowed = (i[None, :] >= i[:, None]) & (i[None, :] < i[:, None] + max_len)  # (T, T)
    flat = score.masked_fill(~allowed, float("-inf")).flatten(1).argmax(dim=-1)  # (B,)
    return flat // T, flat % T
# --8<-- [end:heads_span]
# --8<-- [end:heads]
