"""Stock: lots, serial units, the append-only ledger, balances, transfers, custody, site stock and its check."""
