# Tunesmith: one image, two roles (see compose.yaml).
#   the bot:               docker run -e DISCORD_TOKEN_FILE=/run/secrets/discord_token IMAGE
#                          (the default command, `python -m bot`)
#   a generator replica:   docker run -e TUNESMITH_HEALTH_URL=http://127.0.0.1:8080/healthz \
#                              IMAGE python -m generators --host 0.0.0.0 --port 8080
#   the command line:      docker run --rm -v "$PWD/out:/data/out" IMAGE \
#                              tunesmith compose lofi 30s --out /data/out
# The Discord token is never part of the image: pass DISCORD_TOKEN at run time, or better mount
# it as a secret file and point DISCORD_TOKEN_FILE at it.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- 1. the source, shared by the two build stages ---------------------------------------------
FROM ${PYTHON_IMAGE} AS source
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY generators ./generators
COPY soundfonts ./soundfonts

# --- 2a. the known-melody index for the originality check, built from music21's corpus ---------
FROM source AS reference
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install '.[reference]' \
    && TUNESMITH_DATA_DIR=/tmp /opt/build/bin/tunesmith ledger build-reference \
    && mkdir -p /opt/tunesmith && mv /tmp/reference-melodies.sqlite /opt/tunesmith/

# --- 2b. the application's virtual environment, without the build-only extras ------------------
FROM source AS venv
# Editable, at the same path as in the final image, so generators/soundfonts.py finds
# soundfonts/manifest.toml beside the source tree (the manifest is not package data).
RUN python -m venv /opt/venv && /opt/venv/bin/pip install -e .

# --- 3. the runtime: system libraries, the SoundFont, the venv; no compilers, no pip caches ----
FROM ${PYTHON_IMAGE}
# The same runtime packages scripts/setup-system.sh installs (less its test-only nginx and
# docker-compose); the SoundFont comes from fluid-soundfont-gm, the first entry of
# soundfonts/manifest.toml.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        fluidsynth libfluidsynth3 ffmpeg libopus0 lame libchromaprint1 fluid-soundfont-gm fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TUNESMITH_DATA_DIR=/data \
    TUNESMITH_REFERENCE_MELODIES=/opt/tunesmith/reference-melodies.sqlite

COPY --from=venv /opt/venv /opt/venv
COPY --from=venv /app /app
COPY --from=reference /opt/tunesmith /opt/tunesmith
WORKDIR /app
RUN python -m generators.soundfonts --verify \
    && useradd --system --create-home --home-dir /home/tunesmith --uid 10001 tunesmith \
    && mkdir -p /data \
    && chown tunesmith:tunesmith /data
USER tunesmith
VOLUME ["/data"]

# The bot: its heartbeat file is fresh while it is connected to Discord. A generator replica:
# set TUNESMITH_HEALTH_URL to its /healthz (compose.yaml does).
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]

CMD ["python", "-m", "bot"]
