"""Nearest available stock: the search, its SQL, the filters, travel-time estimates and the answer's shape."""
