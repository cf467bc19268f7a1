"""Tokenizers: text to ids and back (characters, byte-level BPE, WordPiece, Unigram).

The lowest floor beside `layers`: imports nothing else from `snippets`.
"""
