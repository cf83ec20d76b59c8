"""Incident response: incidents and dispatch orders with their reservations and shipments."""
