# Application image (Python 3.11): action server, staff inbox with the outbox worker, purge job (the entry point is nginx).
# The command picks the process: python -m bot.action_server | bot.staff
#   docker build -f deploy/app.Dockerfile -t eczema-med-bot-app .
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    SANIC_HOST=0.0.0.0 \
    STAFF_HOST=0.0.0.0 \
    HANDOFF_DB_PATH=/app/var/handoff.sqlite \
    BOT_CACHE_DIR=/app/var/cache
COPY requirements/actions.txt requirements/actions.txt
# torch must be the CPU build (see requirements/actions.txt); the CPU wheel index serves it.
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -r requirements/actions.txt
COPY bot bot
COPY actions actions
# /app/var (stores, spool, cache) is the app user's only; the servers also set umask 077.
RUN useradd --uid 10001 --no-create-home app && install -d -m 700 -o 10001 /app/var
USER 10001
# /app/var holds the handoff spool (tickets written while PostgreSQL is down) and the embedding cache:
# mount a persistent volume there, shared by the action server and the staff app of the same pod/host.
VOLUME ["/app/var"]
EXPOSE 5055 8000 5005
CMD ["python", "-m", "bot.action_server"]
