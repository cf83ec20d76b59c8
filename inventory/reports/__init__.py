"""Reports people print and sign: 收发存 (receipts, issues and balance), the stock ledger (台账), stock by county."""
