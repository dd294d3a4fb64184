# One image for the web server, the Celery workers and beat.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm fonts-dejavu-core fonts-noto-core postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock package.json package-lock.json ./
RUN pip install -r requirements.lock && npm ci --omit=dev --no-audit --no-fund
COPY . .
RUN pybabel compile -d crm/translations && useradd --create-home jisr && mkdir -p instance /backups /documents \
    && chown jisr instance /backups /documents
USER jisr
EXPOSE 8000
CMD ["gunicorn", "wsgi:app", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
