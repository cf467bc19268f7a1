"""Embeddings: word and sentence vectors (counts, word2vec, GloVe, fastText, pooled encoders).

Imports from `training` and the floors below it.
"""
