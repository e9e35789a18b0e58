"""Surveys after visits: their files, the registry and results, sending, and answering."""
