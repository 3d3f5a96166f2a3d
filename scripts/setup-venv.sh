#!/usr/bin/env bash
# Creates .venv with Python >= 3.11 and installs the project into it (editable, with dev extras).
# Skips the pip install when .stamps/venv-<sha256 of pyproject.toml> exists and .venv works.
#
# Environment: PYTHON (interpreter to build the venv with), VENV (default .venv).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/find-python.sh
source scripts/find-python.sh

venv=${VENV:-.venv}
stamps=.stamps
mkdir -p "$stamps"

# Several people (or `make -j`) may run set-up in one checkout; pip into one venv at a time.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$stamps/setup-venv.lock"
    if ! flock -n 9; then
        echo "setup-venv: another set-up is running in this checkout; waiting for it"
        flock 9
    fi
fi

venv_python="$venv/bin/python"
venv_works() {
    [[ -x $venv_python ]] &&
        "$venv_python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
            >/dev/null 2>&1
}

python=$(tunesmith_find_python)
hash=$("$python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()[:16])' pyproject.toml)
stamp="$stamps/venv-$hash"

if [[ -f $stamp ]] && venv_works; then
    echo "setup-venv: $venv is up to date with pyproject.toml (sha256 $hash…); skipped pip install"
    exit 0
fi

if [[ -e $venv ]] && ! venv_works; then
    echo "setup-venv: $venv exists but its Python is missing or older than 3.11; recreating it"
    "$python" -m venv --clear "$venv"
elif [[ ! -e $venv ]]; then
    echo "setup-venv: creating $venv with $python ($("$python" --version 2>&1))"
    "$python" -m venv "$venv"
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1
"$venv_python" -m pip install --quiet --upgrade pip
echo "setup-venv: pip install -e '.[dev]' into $venv"
"$venv_python" -m pip install --progress-bar off -e '.[dev]'

rm -f "$stamps"/venv-*
touch "$stamp"
echo "setup-venv: done; stamped $stamp"
