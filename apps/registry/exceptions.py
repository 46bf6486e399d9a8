"""Refusals the registry services raise; pages and API turn them into status codes."""


class StateConflict(Exception):
    """The request is not in a state that allows the action (HTTP 409)."""

    def __init__(self, message: str, *, state: str):
        super().__init__(message)
        self.state = state
