"""Pre-positioning plans (精准化前置): risk points, optimiser proposals, plans, their coverage and workflow."""
