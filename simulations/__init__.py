"""Researcher side: synthetic consortium, experiments, reports.

The only package that may import all the others.
"""

import os

# Flower sends usage telemetry unless told not to; this system runs in closed networks and must
# never phone home. Set before any flwr import.
os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
