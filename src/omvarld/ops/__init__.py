"""Running it: health, alerts, e-mail transport, locks, schedules and run reports."""
