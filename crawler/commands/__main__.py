"""`python -m crawler.commands ARGS` runs the `vemeter` command (tests and subprocesses use it)."""

from crawler.commands.app import main

main()
