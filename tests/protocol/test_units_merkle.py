"""Exact unit conversion and Merkle trees beyond the vector sizes."""

from __future__ import annotations

import pytest

from wattwitness.protocol import ProtocolError, audit_path, merkle_root, milli_from_decimal_text, verify_inclusion


@pytest.mark.parametrize(("value", "milli"), [
    (16.35, 16350), ("16.35", 16350), (21700.0, 21_700_000), (0.1 + 0.2, 300), (-3.5, -3500),
    (123456789.123, 123_456_789_123), (0, 0), ("1e3", 1_000_000),
])
def test_exact_milli_conversion(value, milli):
    assert milli_from_decimal_text(value) == milli


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "abc", None, True, [1]])
def test_non_numbers_are_rejected(value):
    with pytest.raises(ProtocolError):
        milli_from_decimal_text(value)


@pytest.mark.parametrize("n", [7, 8, 9, 31, 100])
def test_every_leaf_proves_inclusion(n):
    records = [i.to_bytes(74, "big") for i in range(n)]
    root = merkle_root(records)
    for index in range(n):
        path = audit_path(records, index)
        assert verify_inclusion(records[index], index, n, path, root)
        assert not verify_inclusion(records[(index + 1) % n], index, n, path, root)
