"""Reserve quotas (储备定额): what each location must hold of each item type, and how far it falls short."""
