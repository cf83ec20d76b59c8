"""The quarterly stocktake: counts, their rules, differences posted as adjustments, opening balances.

``counting`` opens a stocktake and takes the counts in, ``differences`` reports and posts them, ``uploads``
keeps what a refused sheet leaves, ``opening_balances`` receives a new depot's stock. Sheets come in and go
out as typed rows (``schemas``): reading and writing workbooks is the Excel layer's, at the edge.
"""
