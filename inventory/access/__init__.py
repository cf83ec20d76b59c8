"""Who may do what: accounts and sessions, roles and permissions, sign-in throttling, the audit log."""
