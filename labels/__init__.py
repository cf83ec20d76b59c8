"""Printable QR labels for assets, lots and locations: codes, content, PNG/SVG labels and PDF sheets."""
