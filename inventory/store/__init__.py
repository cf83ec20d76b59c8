"""Persistence: the models, the database wrapper, migrations, idempotency keys and the label-code registry."""
