"""The one exception hierarchy of vemeter; the CLI turns each into a single ``Error: …`` line.

::

    VemeterError                  anything the user can fix; message is one line (or one per problem)
    ├── ConfigError               a project config (YAML) is malformed or invalid
    ├── SecretMissing             an environment variable named in the config is unset
    ├── StorageError              the database cannot be opened, or its schema is out of date
    └── InputError                a command-line argument or input file is invalid
"""

from __future__ import annotations


class VemeterError(Exception):
    """Base class: the message says what is wrong and how to fix it."""


class ConfigError(VemeterError):
    """A project config is malformed; the message lists every problem, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class SecretMissing(VemeterError):
    """An environment variable the config names (a token, the pseudonym key) is not set."""


class StorageError(VemeterError):
    """The database cannot be used as it is."""


class InputError(VemeterError):
    """A command-line argument or an input file is invalid."""
