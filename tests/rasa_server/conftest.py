"""Tests of what the Rasa server loads (bot/rasa_server). They run in the Rasa environment only:

    .venv-rasa/bin/python -m pytest tests/rasa_server --confcutdir=tests/rasa_server   (`make channels`)

--confcutdir keeps pytest from loading tests/conftest.py, which needs the 3.11 packages; tests/conftest.py in
turn keeps the main environment from collecting this folder.
"""
