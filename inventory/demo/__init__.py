"""The demo data set: a Jiangxi county's places, catalogue, stock, users and a pending write-off."""
