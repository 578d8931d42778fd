"""`dichvucong dev`: the whole stack embedded on one machine (what `make run` starts).

The Temporal CLI dev server (SQLite file, Web UI), the worker and the web app run
as child processes in their own process groups; this process checks the ports,
registers the search attributes, migrates and seeds, prints the addresses and
stops everything in reverse order on Ctrl-C or SIGTERM.
"""

from dichvucong.devstack.stack import DevStack, run_dev

__all__ = ["DevStack", "run_dev"]
