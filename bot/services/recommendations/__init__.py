"""What meetings agreed: recommendation files, the registry, cadences and status updates,
and the reminders and escalations that follow them up."""
