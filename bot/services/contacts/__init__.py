"""People: the registry, reading and checking contact files, and who a message goes to."""
