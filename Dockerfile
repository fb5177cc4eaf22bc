FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=penguinflow.settings.base
WORKDIR /app
COPY pyproject.toml README.md ./
COPY . .
RUN pip install --no-cache-dir . \
    && DEBUG=true python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["python", "-m", "uvicorn", "penguinflow.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
