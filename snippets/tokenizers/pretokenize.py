"""Regex pre-tokenization: cut text into chunks that BPE merges never cross.

GPT-2 (Radford et al., 2019) splits letters, digits, punctuation and whitespace apart so that
"dog", "dog." and "dog!" share the token "dog"; GPT-4's cl100k pattern (tiktoken) also
caps digit runs at three and makes contractions case-insensitive. GPT4_PATTERN splits as the
pattern tiktoken first published; its current copy is written with possessive quantifiers and a
trailing-whitespace branch (\\s++$); only that branch changes the split, for whitespace at the
end of a text.
GPT4O_PATTERN is tiktoken's o200k_base split (GPT-4o): a word is an optional upper-case run then a
lower-case run, so "camelCase" splits at the case change, and a contraction stays on its word.
Needs the `regex` package for \\p{L} (any letter) and \\p{N} (any digit).
"""

# --8<-- [start:imports]
import regex
# --8<-- [end:imports]

# --8<-- [start:patterns]
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
GPT4_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}"""
                r"""| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+""")
# o200k: an upper-case run then lower case ("Hello", "HTTPServer" -> "HTTP" "Server"), or an
# upper-case run then nothing; either keeps a contraction ("'s", "'LL") on the word
_UPPER, _LOWER = r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]", r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]"
_CONTRACTION = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
GPT4O_PATTERN = "|".join([
    rf"[^\r\n\p{{L}}\p{{N}}]?{_UPPER}*{_LOWER}+{_CONTRACTION}",
    rf"[^\r\n\p{{L}}\p{{N}}]?{_UPPER}+{_LOWER}*{_CONTRACTION}",
    r"\p{N}{1,3}",
    r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
    r"\s*[\r\n]+",
    r"\s+(?!\S)",
    r"\s+",
])
PATTERNS = {"gpt2": GPT2_PATTERN, "gpt4": GPT4_PATTERN, "gpt4o": GPT4O_PATTERN}


def compile_pattern(pattern: str | None) -> "regex.Pattern | None":
    """A named pattern ("gpt2", "gpt4", "gpt4o"), a raw regex, or None (the whole text is one chunk)."""
    if pattern is None:
        return None
    return regex.compile(PATTERNS.get(pattern, pattern))


def pretokenize(text: str, pattern: str | None = "gpt2") -> list[str]:
    compiled = compile_pattern(pattern)
    return [text] if compiled is None else compiled.findall(text)
# --8<-- [end:patterns]
