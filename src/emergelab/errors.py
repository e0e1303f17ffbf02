"""The one error type a user sees.

Anything raised as `UserError` is bad input, not a bug: the CLI prints its message as a
single line and exits with code 2. The message says what is wrong *and* what to do.
"""


class UserError(ValueError):
    """Bad input from the user: one line saying what is wrong and what to do."""
