# Release Train GitHub App: granian serving the webhook app, as a non-root user.
#   docker build -t release-train .
#   docker run -p 3000:3000 -e APP_ID=... -e WEBHOOK_SECRET=... \
#     -e PRIVATE_KEY_PATH=/secrets/app.pem -v $PWD/app.pem:/secrets/app.pem:ro release-train
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY bot ./bot
COPY schemas ./schemas
COPY policies ./policies
RUN python -m pip install --no-cache-dir --upgrade pip \
 && python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=3000
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin release-train
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
WORKDIR /app
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"3000\")}/healthz', timeout=2)"
ENTRYPOINT ["release-train"]
CMD ["serve", "--host", "0.0.0.0", "--workers", "1", "--threads", "8"]
