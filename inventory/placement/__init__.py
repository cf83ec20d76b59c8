"""Placement optimisation for pre-positioning: maximal covering, p-median and stock-aware placement (HiGHS).

Pure computation: no database, no web framework. ``inventory.plans`` feeds it risk points, candidate
sites and travel minutes from the database; ``inventory plan optimise`` feeds it CSV files; ``bench/placement.py``
feeds it OR-Library and AILS-MCLP instances.
"""
