"""Energy charts: calendar periods in local time and energy from the meter counter."""
