"""Errors a user can cause. The CLI prints their message on one line; the app shows it with st.error."""


class WinnowError(Exception):
    """A problem the user can act on (bad file, wrong field, missing prerequisite)."""


class Cancelled(WinnowError):
    """A long computation was cancelled by the user."""

    def __init__(self, message: str = "cancelled by the user") -> None:
        super().__init__(message)
