"""Inference: generating from trained models faster or under rules (speculative decoding,
constrained decoding), serving many requests at once (a paged KV cache, continuous batching),
and the roofline accounting of prefill and decode.

Imports from `models` and the floors below it; nothing below imports it.
"""
