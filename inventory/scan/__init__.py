"""Scanning a QR label: what a code resolves to, what a keeper may do there, and the data on label sheets."""
