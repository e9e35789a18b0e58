"""Running the service on a server: the set-up check (doctor), backups and restore, and the
daily housekeeping (retention, backups). May talk to the network and run programs; the
services never import it."""
