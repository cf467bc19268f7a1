"""Retrieval: finding the nearest vectors and scoring the result (exact search, IVF, HNSW, BM25, metrics).

The highest library floor below the command line: may import from `embeddings` and everything under it.
"""
