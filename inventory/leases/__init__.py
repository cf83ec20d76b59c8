"""Leases (租赁、借用): lending ours out and leasing theirs in, through the ledger, with fees and due dates."""
