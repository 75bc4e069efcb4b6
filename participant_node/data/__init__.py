"""fedcredit: data."""
