"""Read models folded from the log by catch-up subscriptions, each in its own tables."""
