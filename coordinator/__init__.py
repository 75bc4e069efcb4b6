"""fedcredit: coordinator."""
