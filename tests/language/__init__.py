"""The language quality gate: visible text, Hunspell, allow-lists, glossary and template discovery.

tests/test_language.py runs these checks over every user-facing template; the data files here
(allow-<lang>.txt, glossary.csv, avoid.csv) are reviewed like code, and seeded/ holds small
templates with known mistakes that the gate must catch.
"""
