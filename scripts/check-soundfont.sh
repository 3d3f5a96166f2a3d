#!/usr/bin/env bash
# Checks that a SoundFont resolves (TUNESMITH_SOUNDFONT, then soundfonts/manifest.toml) and that
# a manifest SoundFont's SHA-256 matches. Hashing 148 MB is not free, so the result is stamped,
# keyed on the manifest, the resolved path and the file's size and mtime.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv_python="${VENV:-.venv}/bin/python"
manifest=soundfonts/manifest.toml

path=$("$venv_python" -m generators.soundfonts --path) # explains itself on failure

if identity=$(stat -L -c '%s %Y %i' "$path" 2>/dev/null); then
    key=$({ cat "$manifest"; printf '%s\n%s\n' "$path" "$identity"; } | cksum | cut -d' ' -f1)
    stamp=".stamps/soundfont-$key"
    if [[ -f $stamp ]]; then
        echo "check-soundfont: $path already verified against $manifest; skipped"
        exit 0
    fi
else
    stamp="" # no GNU stat: verify every time rather than trust a stamp we cannot key
fi

"$venv_python" -m generators.soundfonts --verify | sed 's/^/check-soundfont: /'
if [[ -n $stamp ]]; then
    mkdir -p .stamps
    rm -f .stamps/soundfont-*
    touch "$stamp"
fi
