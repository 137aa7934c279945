"""Signed readings: verified ingest (single and batch), listing, latest, streamed export."""
