"""Layers: the building blocks every model is made of (attention, positions, norms, feed-forward, blocks).

The lowest floor: imports nothing else from `snippets`.
"""
