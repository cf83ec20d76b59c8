"""Write-offs (报废/报损): requested by one person, approved by another, posted to the ledger."""
