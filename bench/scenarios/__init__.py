"""One module per scenario; each has ``run(config) -> dict`` (measured figures only)."""
