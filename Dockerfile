# listenpost in distributed mode: one image for the scheduler, the workers and the Slack app
# (compose.yaml picks the command). Build: docker build -t listenpost .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# torch pinned first, as .ci/run does: an open range would pull a multi-GB CUDA build.
RUN pip install torch==2.13.0
COPY pyproject.toml README.md ./
COPY core core
COPY listeners listeners
COPY classifiers classifiers
COPY storage storage
COPY alerts alerts
COPY radar radar
COPY reports reports
COPY listenpost listenpost
RUN pip install '.[distributed]'

# Workers refuse nothing as root, but nothing here needs root either.
RUN useradd --create-home --uid 10001 listenpost
USER listenpost
ENV LISTENPOST_SETTINGS=/etc/listenpost/settings.toml
# 9108: [metrics] port. Compose sets host = "0.0.0.0" in settings so Prometheus can reach it.
EXPOSE 9108
ENTRYPOINT ["listenpost"]
CMD ["worker"]
