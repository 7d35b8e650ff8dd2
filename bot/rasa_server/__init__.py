"""Plug-ins loaded by the Rasa server (Python 3.10 environment): action-reply validation, tracker store."""
