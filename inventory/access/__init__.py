"""Who may do what: users and passwords, tokens, scope, roles and permissions, sign-in throttling, the audit log."""
