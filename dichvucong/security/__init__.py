"""Privacy and security: the Temporal payload codec and its codec server, rate
limits, sign-in lockout, the audit log."""
