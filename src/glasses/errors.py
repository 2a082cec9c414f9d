"""The one exception type for input a user can fix."""


class InputError(Exception):
    """Bad input or arguments: the CLI prints the message (which names the file, row and
    reason) as one line and exits non-zero, instead of a traceback."""
