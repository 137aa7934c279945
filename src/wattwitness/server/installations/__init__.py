"""Installations (a meter bound to a device key) and the one-time enrollment tokens that authorise them."""
