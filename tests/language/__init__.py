"""The language quality gate: visible text, Hunspell, allow-lists, glossary and template discovery.

tests/test_language.py runs these checks over every user-facing template; the data files here
(allow-<lang>.txt, glossary.csv, avoid.csv, plurals.csv) are reviewed like code, and seeded/
holds small templates with known mistakes that the gate must catch. grammar.py checks what a
spell checker cannot: counts and their noun forms, the case of dates after prepositions, one
polite register, gender-neutral Latvian, doubled punctuation; literals.py keeps Latvian and
Estonian words out of the Python code.
"""
