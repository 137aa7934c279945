"""WattWitness: a trustless, tamper-proof electricity production meter for solar-park tokenization."""

__version__ = "0.1.0"
