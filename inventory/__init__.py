"""Emergency materials and equipment inventory: domain and persistence (no web framework here)."""
