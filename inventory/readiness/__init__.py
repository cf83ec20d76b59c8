"""Readiness (战备完好): maintenance plans, append-only checks, repairs, and each unit's derived state."""
