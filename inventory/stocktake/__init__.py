"""The quarterly stocktake: counts, their rules, differences posted as adjustments, opening balances."""
