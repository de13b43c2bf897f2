"""The one exception type users see."""

from __future__ import annotations


class UserError(ValueError):
    """A problem with what the user asked for or supplied: shown as one clear message, never a traceback.

    `field` names the request field at fault (e.g. "acrostic") so a UI can point at it.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
