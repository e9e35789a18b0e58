"""Events: their files, the registry, invitations and answers, reminders, calendar files,
and the coordinators' digest of new answers."""
