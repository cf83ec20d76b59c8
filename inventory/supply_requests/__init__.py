"""Requests for stock between units (物资调用申请, 逐级申请)."""
