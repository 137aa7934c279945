"""Integrity report: counts by status, open gaps, chain restarts, counter resets, security events."""
