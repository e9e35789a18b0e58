"""The domain, one package per subject; clock.py holds time as a dependency.

Services take ids and plain values and return plain results: no Telegram, HTTP or sandbox
types cross into them (tests/test_layout.py).
"""
