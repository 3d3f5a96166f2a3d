#!/usr/bin/env bash
# Checks the system packages Tunesmith needs and, on Debian/Ubuntu with root or passwordless
# sudo, installs the missing ones. Does nothing (quickly) when everything is present.
#
# Usage: scripts/setup-system.sh [--check-only]
#   --check-only   report what is missing, never install (exit 1 if anything is missing)
# Environment:
#   TUNESMITH_SYSTEM_PACKAGES  space-separated Debian packages to require instead of the default
#                              list (tests use it; so can a derived image that needs more)
#   PYTHON                     the interpreter to check instead of python3.11/python3
# Exit status: 0 all present (or installed), 1 something missing or the install failed, 2 usage.
set -euo pipefail

# nginx-light and docker-compose are for the tests only: the scale-out test puts Debian's nginx in
# front of two generator replicas, and `docker-compose config` checks compose.yaml (no engine).
readonly DEFAULT_PACKAGES="fluidsynth libfluidsynth3 ffmpeg libopus0 lame libchromaprint1 fluid-soundfont-gm fonts-dejavu-core nginx-light docker-compose"

# Only builtins to locate siblings: the tests run this script on a deliberately bare PATH.
script=${BASH_SOURCE[0]}
if [[ $script == */* ]]; then here=${script%/*}; else here=.; fi
# shellcheck source=scripts/find-python.sh
source "$here/find-python.sh"

check_only=0
for arg in "$@"; do
    case $arg in
        --check-only) check_only=1 ;;
        -h | --help)
            sed -n '2,12s/^# \{0,1\}//p' "$0"
            exit 0
            ;;
        *)
            echo "setup-system: unknown argument '$arg' (expected --check-only or --help)" >&2
            exit 2
            ;;
    esac
done

read -r -a packages <<<"${TUNESMITH_SYSTEM_PACKAGES:-$DEFAULT_PACKAGES}"
problems=0

# --- Python >= 3.11, with venv/ensurepip (Debian splits those into pythonX.Y-venv) ------------
python_venv_package=""
if python=$(tunesmith_find_python); then
    python_version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        python_venv_package="python${python_version}-venv"
    fi
else
    problems=1 # tunesmith_find_python has explained what is needed
fi

# --- Not Debian: say what is needed, check what can be checked --------------------------------
if ! command -v dpkg-query >/dev/null 2>&1; then
    missing_commands=()
    for cmd in fluidsynth ffmpeg lame; do
        command -v "$cmd" >/dev/null 2>&1 || missing_commands+=("$cmd")
    done
    {
        echo "setup-system: no dpkg-query here, so this is not Debian/Ubuntu; cannot install for you."
        echo "Tunesmith needs: FluidSynth 2.x (the library and the 'fluidsynth' command), ffmpeg,"
        echo "libopus, lame, a General MIDI SoundFont (FluidR3_GM), Python >= 3.11 with venv."
        echo "  Fedora: sudo dnf install fluidsynth fluidsynth-libs ffmpeg-free opus lame fluid-soundfont-gm"
        echo "  macOS:  brew install fluid-synth ffmpeg opus lame, then set TUNESMITH_SOUNDFONT"
        echo "          to a .sf2 file (see soundfonts/README.md)"
        if [[ -n $python_venv_package ]]; then
            echo "Python $python_version at $python cannot create virtual environments (no ensurepip)."
        fi
    } >&2
    if ((${#missing_commands[@]})); then
        echo "setup-system: missing commands: ${missing_commands[*]}" >&2
        exit 1
    fi
    echo "setup-system: found fluidsynth, ffmpeg and lame; libopus and the SoundFont are not" \
        "checked here (set TUNESMITH_SOUNDFONT if yours is not at the Debian path)." >&2
    if [[ -n $python_venv_package ]]; then exit 1; fi
    exit "$problems"
fi

# --- Debian/Ubuntu ----------------------------------------------------------------------------
missing_packages() {
    local package status
    for package in "${packages[@]}" ${python_venv_package:+"$python_venv_package"}; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null) || status=""
        [[ $status == ii* ]] || printf '%s\n' "$package"
    done
}

mapfile -t missing < <(missing_packages)
if ((${#missing[@]} == 0)); then
    if ((problems)); then exit 1; fi
    echo "setup-system: all system packages present (${packages[*]}); Python $python_version at $python"
    exit 0
fi

if [[ $(id -u) == 0 ]]; then
    sudo=()
    privileged=1
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    sudo=(sudo)
    privileged=1
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
    privileged=0
else
    sudo=()
    privileged=0
fi

if ((check_only || !privileged)); then
    prefix=${sudo[*]:+${sudo[*]} }
    {
        echo "setup-system: missing Debian packages: ${missing[*]}"
        if ((!privileged)) && ((${#sudo[@]})); then
            echo "Not running as root and sudo needs a password, so they were not installed."
            echo "Install them with:"
        elif ((!privileged)); then
            echo "Not running as root and there is no sudo, so they were not installed."
            echo "Install them as root with:"
        else
            echo "Install them with:"
        fi
        echo "  ${prefix}apt-get update && ${prefix}apt-get install -y --no-install-recommends ${missing[*]}"
        echo "then run 'make setup' again."
    } >&2
    exit 1
fi

echo "setup-system: installing missing Debian packages: ${missing[*]}"
# Installing nginx would start it as a system service on port 80; the tests run their own. A
# policy-rc.d that refuses service starts (as container images ship) is put in place for the
# install only, when the system has none.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# setup-system: no service starts during this install\nexit 101\n' |
        ${sudo[@]+"${sudo[@]}"} tee "$policy" >/dev/null
    ${sudo[@]+"${sudo[@]}"} chmod 755 "$policy"
    trap '${sudo[@]+"${sudo[@]}"} rm -f "$policy"' EXIT
fi
# `env` because sudo resets the environment.
${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update
${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"

mapfile -t still_missing < <(missing_packages)
if ((${#still_missing[@]})); then
    echo "setup-system: apt-get finished but these are still not installed: ${still_missing[*]}" >&2
    exit 1
fi
if ((problems)); then exit 1; fi
echo "setup-system: installed ${missing[*]}"
