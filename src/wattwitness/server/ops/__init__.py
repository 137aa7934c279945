"""Operations services: online backup and restore, schema upgrades, retention (prune)."""
