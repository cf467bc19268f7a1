"""Inference: generating from trained models faster or under rules (speculative decoding,
constrained decoding).

Imports from `models` and the floors below it; nothing below imports it.
"""
