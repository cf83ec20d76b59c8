"""The catalogue: item types, their tags and typed attributes, and the pure rules that check them."""
