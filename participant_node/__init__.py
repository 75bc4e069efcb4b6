"""fedcredit: participant_node."""
