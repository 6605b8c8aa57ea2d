"""The rules that decide commands: pure functions from current state and a command to new events.

Nothing here touches a database. State is folded from (type, data) pairs; each decision
returns the event(s) to append or raises a `DomainError` that says what to do instead.
"""
