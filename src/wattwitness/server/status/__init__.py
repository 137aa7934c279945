"""System status: overall health, background internet probe, device liveness, database and chain."""
