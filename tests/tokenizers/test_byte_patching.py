"""Entropy patching: hand-computed boundaries, the entropy of known distributions, bad input."""

import math

import pytest
import torch

from snippets.tokenizers.byte_patching import (fixed_starts, global_starts, monotonic_starts,
                                               next_byte_entropy, split_patches)

# entropies of a 7-byte text, in bits: high at bytes 3 and 5, a slow rise over bytes 0-2
H = [2.0, 2.5, 3.0, 6.0, 1.0, 5.0, 5.5]


def test_global_constraint_starts_a_patch_at_every_byte_above_the_threshold():
    assert global_starts(H, 4.0) == [0, 3, 5, 6]
    assert global_starts(H, 2.0) == [0, 1, 2, 3, 5, 6]  # strictly above: 2.0 itself does not
    assert global_starts(H, 10.0) == [0]                # nothing above: one patch


def test_monotonic_constraint_starts_a_patch_where_entropy_jumps():
    # rises: +0.5, +0.5, +3.0, -5.0, +4.0, +0.5
    assert monotonic_starts(H, 1.0) == [0, 3, 5]
    # a high but flat stretch (bytes 5 and 6) is one patch here, two under the global rule
    assert global_starts(H, 4.0)[-2:] == [5, 6] and 6 not in monotonic_starts(H, 1.0)
    assert monotonic_starts(H, 0.0) == [0, 1, 2, 3, 5, 6]


def test_patches_cover_the_bytes_in_order():
    data = b"abcdefg"
    assert split_patches(data, [0, 3, 5]) == [b"abc", b"de", b"fg"]
    assert split_patches(data, fixed_starts(len(data), 3)) == [b"abc", b"def", b"g"]
    for starts in (global_starts(H, 4.0), monotonic_starts(H, 1.0), fixed_starts(7, 2)):
        assert b"".join(split_patches(data, starts)) == data


def test_entropy_is_zero_for_a_certain_byte_and_eight_bits_for_a_uniform_one():
    logits = torch.full((3, 256), -1e4, dtype=torch.float64)
    logits[0, 65] = 0.0                      # one byte certain
    logits[1] = 0.0                          # all 256 equally likely
    logits[2, :2] = 0.0                      # a fair coin between two bytes
    h = next_byte_entropy(logits)
    torch.testing.assert_close(h, torch.tensor([0.0, 8.0, 1.0], dtype=torch.float64),
                               atol=1e-9, rtol=0)
    # the same as the definition, -sum p log2 p, on random logits
    z = torch.randn(5, 256, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    p = z.softmax(-1)
    torch.testing.assert_close(next_byte_entropy(z), -(p * p.log2()).sum(-1))


@pytest.mark.parametrize("entropies, threshold, message", [
    ([], 1.0, "no entropies"),
    ([1.0, math.nan], 1.0, "finite and >= 0"),
    ([1.0, -0.5], 1.0, "finite and >= 0"),
    ([1.0, 2.0], math.inf, "threshold must be finite"),
])
def test_bad_entropies_or_thresholds_are_refused(entropies, threshold, message):
    for rule in (global_starts, monotonic_starts):
        with pytest.raises(ValueError, match=message):
            rule(entropies, threshold)


def test_bad_shapes_sizes_and_starts_are_refused():
    with pytest.raises(ValueError, match=r"\(T, V\).*\(256,\)"):
        next_byte_entropy(torch.zeros(256))
    with pytest.raises(ValueError, match="patch_size >= 1"):
        fixed_starts(10, 0)
    for starts in ([1, 3], [0, 3, 3], [0, 7], []):
        with pytest.raises(ValueError, match="starts must begin at 0"):
            split_patches(b"abcdefg", starts)
