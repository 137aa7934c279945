"""The WattWitness server: FastAPI app, database and one package per domain (DESIGN.md layout)."""
