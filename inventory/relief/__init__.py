"""Relief handed to households (救灾物资发放): who received what, in which round, through the ledger."""
