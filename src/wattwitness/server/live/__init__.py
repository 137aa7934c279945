"""Live readings: an in-process wake-up bus and the server-sent-events stream the dashboard listens to."""
