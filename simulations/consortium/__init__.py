"""fedcredit: consortium."""
