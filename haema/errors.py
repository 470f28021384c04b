"""The one error type that crosses module boundaries.

Code that knows what went wrong raises ``HaemaError`` with a message meant for the
client and an HTTP status. ``web.py`` maps it to JSON in a single hook, so no route
needs its own try/except and no traceback ever reaches a client.
"""


class HaemaError(Exception):
    def __init__(self, message, status=400):
        super().__init__(message)
        self.message = message
        self.status = status


def not_found(what):
    return HaemaError(f"{what} not found", 404)
