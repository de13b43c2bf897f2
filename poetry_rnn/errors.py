"""The one exception type users see."""

from __future__ import annotations

MAX_MESSAGE_CHARS = 1000


class UserError(ValueError):
    """A problem with what the user asked for or supplied: shown as one clear message, never a traceback.

    `field` names the request field at fault (e.g. "acrostic") so a UI can point at it.
    """

    def __init__(self, message: str, field: str | None = None):
        # A message quoting a huge input would bury the point: keep its start and the advice at its end.
        if len(message) > MAX_MESSAGE_CHARS:
            message = f"{message[:300]} … [{len(message) - 800:,} characters left out] … {message[-500:]}"
        super().__init__(message)
        self.field = field
