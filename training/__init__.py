"""Training code (few-shot brand adaptation). Scoring code never imports this package."""
