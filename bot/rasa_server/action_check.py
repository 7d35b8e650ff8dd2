"""Validate action-server replies with one prebuilt validator (Rasa server side).

Rasa 3.6 checks every custom-action reply with ``jsonschema.validate``, which first checks Rasa's own constant
reply schema against the JSON-Schema meta-schema, on every call. With one custom action per turn that was over
half of the Rasa server's CPU time per turn (py-spy during `make bench`). ``install`` keeps the check of the
reply, against the same schema and with the same error message, and checks the schema itself once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator


@lru_cache(maxsize=1)
def _validator() -> Validator:
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """Drop-in for ``RemoteAction._validate_action_result``: True, or the same ValidationError as Rasa's."""
    error: ValidationError | None = best_match(_validator().iter_errors(result))
    if error is None:
        return True
    from rasa.shared.constants import DOCS_BASE_URL

    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the Action "
        f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    """Idempotent; called when Rasa builds the input channels at start-up."""
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
