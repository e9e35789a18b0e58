"""The coordinator's console: sign-in by one-time link, browser sessions, and the audit log.

Coordinator powers come from the database: a session is only as good as its contact's role,
checked on every request.
"""
