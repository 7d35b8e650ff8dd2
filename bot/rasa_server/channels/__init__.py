"""Rasa input channels: the portal chat widget (`web`) and the after-hours SMS line (`sms`).

These modules run inside the Rasa server (Python 3.10 venv): they import only the standard library and what
that venv has (rasa, sanic 21, PyJWT, twilio, psycopg2), and of `bot` only `bot.constants` and `bot.rasa_server`
(settings: `bot.rasa_server.settings`). `gsm7` is standard library only.
"""
