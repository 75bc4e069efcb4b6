"""fedcredit: graph_risk."""
