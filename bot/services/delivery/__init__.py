"""Getting messages out: the outbox, composing at send time, quiet hours, signed links, the
dispatcher, broadcasts, and the port channels implement (`port.Sender`)."""
