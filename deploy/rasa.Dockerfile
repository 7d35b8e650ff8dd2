# Rasa server image (Python 3.10): the trained model, bot/rasa_server (channels and plug-ins) and the prod endpoints.
# Build from the repository root after `make models/eczema.tar.gz`:
#   docker build -f deploy/rasa.Dockerfile -t eczema-med-bot-rasa .
FROM python:3.10-slim
WORKDIR /app
ENV PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    RASA_TELEMETRY_ENABLED=false \
    HOME=/app
COPY requirements/rasa.txt requirements/rasa.txt
RUN pip install --no-cache-dir -r requirements/rasa.txt
# Only what runs inside Rasa: bot/rasa_server (channels, intent classifier, tracker store) and the encoder the
# intent classifier loads (bot/encoder.py; the trained model carries its ONNX export).
COPY bot/__init__.py bot/__init__.py
COPY bot/rasa_server bot/rasa_server
COPY bot/encoder.py bot/encoder.py
COPY bot/constants.py bot/constants.py
COPY credentials.yml credentials.yml
COPY deploy/endpoints.prod.yml deploy/endpoints.prod.yml
COPY models/eczema.tar.gz models/eczema.tar.gz
RUN useradd --uid 10001 --no-create-home rasa && chown -R rasa /app
USER 10001
EXPOSE 5005
# DB_*, REDIS_*, ACTION_SERVER_URL and the channel secrets come from the environment.
ENTRYPOINT ["rasa"]
CMD ["run", "--model", "models/eczema.tar.gz", "--endpoints", "deploy/endpoints.prod.yml", \
     "--credentials", "credentials.yml", "--port", "5005"]
