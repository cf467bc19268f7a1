"""Models: whole networks composed from `layers` (GPT, the encoder-decoder), with decoding and scaling laws.

Imports only from `layers` and `tokenizers`.
"""
