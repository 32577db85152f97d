"""Exceptions that mean "the user's input is wrong", as opposed to a bug.

The CLI prints a ``UserError`` as one line on stderr and exits non-zero; anything else is a bug
and keeps its traceback. Messages name the file, column or value at fault.
"""


class UserError(Exception):
    """A mistake in the input, the options or the environment that the user can fix."""

    exit_code = 2


class DataError(UserError):
    """The data file or folder cannot be used as given."""


class ModelFileError(UserError):
    """A model folder is missing, truncated, tampered with or of an unknown version."""


class SamplingError(UserError):
    """The requested sample cannot be produced (unknown class, bad counts)."""


class TrackingError(UserError):
    """The MLflow tracking server cannot be reached or refused a request."""


class Interrupted(UserError):
    """Ctrl-C: the work stopped cleanly (state saved where possible)."""

    exit_code = 130
