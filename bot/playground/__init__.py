"""The offline playground: every phone and mailbox of the network on one local page."""
