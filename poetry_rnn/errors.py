"""The one exception type users see."""

from __future__ import annotations

from poetry_rnn.refusals import refusal_text

MAX_MESSAGE_CHARS = 1000


def _shortened(message: str) -> str:
    """A message quoting a huge input would bury the point: keep its start and the advice at its end."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return f"{message[:300]} … [{len(message) - 800:,} characters left out] … {message[-500:]}"


class UserError(ValueError):
    """A problem with what the user asked for or supplied: shown as one clear message, never a traceback.

    `field` names the request field at fault (e.g. "acrostic") so a UI can point at it. A refusal made with
    `UserError.of` carries a message id of poetry_rnn.refusals and can be shown in Chinese too (`text`).
    """

    def __init__(
        self,
        message: str,
        field: str | None = None,
        *,
        message_id: str | None = None,
        values: dict | None = None,
    ):
        super().__init__(_shortened(message))
        self.field = field
        self.message_id = message_id
        self.values = dict(values or {})

    @classmethod
    def of(cls, message_id: str, field: str | None = None, **values) -> UserError:
        """The refusal `message_id` of poetry_rnn.refusals with these values."""
        return cls(refusal_text(message_id, "en", values), field, message_id=message_id, values=values)

    def text(self, language: str = "en") -> str:
        """The message in `language` ("en" or "zh"); English where the refusal has no id."""
        if language == "en" or self.message_id is None:
            return str(self)
        return _shortened(refusal_text(self.message_id, language, self.values))
