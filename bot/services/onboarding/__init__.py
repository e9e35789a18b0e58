"""Joining on Telegram: one-time join links and their emails, linking a chat, consent,
language, access requests, and what a person can see and do about themselves."""
