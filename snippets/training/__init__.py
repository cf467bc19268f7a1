"""Training: data, the learning-rate schedule, the loop, checkpoints and distributed runs.

Imports from `models`, `layers` and `tokenizers`, never from the floors above.
"""
