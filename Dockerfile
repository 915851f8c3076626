# openclaw-convos: the Convos (XMTP) channel gateway, running `openclaw-convos run`.
#
#   docker build -t openclaw-convos .
#   docker run -it --rm -v openclaw-convos:/data openclaw-convos configure    # once
#   docker run -d --restart unless-stopped -v openclaw-convos:/data openclaw-convos
#
# All state (config, keys, XMTP databases, pairing stores) is in the volume at /data
# ($OPENCLAW_STATE_DIR). Keep it: a lost database costs one of an inbox's 10 installations.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RUST_LOG=off \
    OPENCLAW_STATE_DIR=/data

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin openclaw \
    && install -d -m 0700 -o openclaw -g openclaw /data

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install . && rm -rf /app/src

USER openclaw
WORKDIR /data
VOLUME ["/data"]

# `docker stop` sends SIGTERM: the gateway stops its streams and finishes running agent turns.
STOPSIGNAL SIGTERM
# healthy only while the gateway runs and serves: not when it is stopped, stuck, or cut off from
# the XMTP node (`openclaw-convos status --check` prints why)
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s \
    CMD ["openclaw-convos", "status", "--check"]

ENTRYPOINT ["openclaw-convos"]
CMD ["run"]
