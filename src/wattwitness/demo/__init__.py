"""`wattwitness demo`: the whole system on one machine, with SQLite and no other service."""
