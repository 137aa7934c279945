"""Anchoring: what to anchor next, which anchors exist, and the inclusion proof of a reading."""
