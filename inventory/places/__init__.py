"""Places: GB/T 2260 regions, locations (depots, reserve points, vendors, vehicles, bins), coordinates, references."""
