# Three stages: the API schema (Python), the visual builder built against it (Node), and the image that runs both.
# The builder's TypeScript types are generated from this code's OpenAPI schema, as `make run` does, so a client
# that drifts from the API fails the image build instead of failing in a browser.

FROM python:3.11-slim AS schema
ENV PYTHONDONTWRITEBYTECODE=1 DJANGO_SETTINGS_MODULE=penguinflow.settings.base DEBUG=true
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir . \
    && mkdir -p var && python manage.py spectacular --format openapi-json --file var/openapi.json

FROM node:20-slim AS builder
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
COPY --from=schema /app/var/openapi.json /app/var/openapi.json
RUN npm run api-types && npm run build

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=penguinflow.settings.base
WORKDIR /app
COPY . .
COPY --from=builder /app/static/builder ./static/builder
RUN pip install --no-cache-dir . \
    && DEBUG=true python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["python", "-m", "uvicorn", "penguinflow.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
