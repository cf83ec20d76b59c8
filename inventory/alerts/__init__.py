"""Alerts (告警): conditions found in the data, kept as rows by dedupe key, and delivered to the people in scope."""
