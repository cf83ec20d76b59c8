"""Overview for commanders: what the map and the summaries show per site and region, from one query each."""
