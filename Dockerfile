# Tunesmith's command line; e.g.
# `docker run --rm -v "$PWD/out:/data/out" IMAGE compose lofi 30s --out /data/out`.
# (The generator service, `tunesmith serve`, becomes the default command when it lands.)
FROM python:3.11-slim-bookworm

# The same runtime packages scripts/setup-system.sh installs; the SoundFont comes from
# fluid-soundfont-gm, the first entry of soundfonts/manifest.toml.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        fluidsynth libfluidsynth3 ffmpeg libopus0 lame libchromaprint1 fluid-soundfont-gm fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    TUNESMITH_DATA_DIR=/data \
    TUNESMITH_REFERENCE_MELODIES=/opt/tunesmith/reference-melodies.sqlite

WORKDIR /app
COPY . /app
# Editable so generators/soundfonts.py finds soundfonts/manifest.toml beside the source tree
# (the manifest is not package data yet).
# The reference melody index (known public-domain tunes for the originality check) is built
# into the image from music21's corpus, as `make setup` does.
RUN pip install --upgrade pip && pip install -e '.[reference]' \
    && python -m generators.soundfonts --verify \
    && tunesmith ledger build-reference

RUN useradd --system --create-home --home-dir /home/tunesmith --uid 10001 tunesmith \
    && mkdir -p /data \
    && chown tunesmith:tunesmith /data
USER tunesmith
VOLUME ["/data"]

ENTRYPOINT ["tunesmith"]
CMD ["--help"]
