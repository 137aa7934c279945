"""The device side: Shelly meter clients, signers, the meter simulator, and the signing agent with its outbox."""
