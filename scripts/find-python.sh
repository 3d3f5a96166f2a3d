#!/usr/bin/env bash
# Finds a Python >= 3.11 to build the venv with. Source it for `tunesmith_find_python`, or run it
# to print the interpreter's path (exit 1 with advice when there is none).
#
# Order: $PYTHON if set, then python3.11, python3, python3.12, python3.13, python3.14.
# Uses only bash builtins besides the interpreters themselves, so tests can run it on a bare PATH.

tunesmith_find_python() {
    local candidate path
    local -a candidates=()
    if [[ -n ${PYTHON:-} ]]; then
        candidates+=("$PYTHON")
    fi
    candidates+=(python3.11 python3 python3.12 python3.13 python3.14)
    for candidate in "${candidates[@]}"; do
        path=$(command -v "$candidate" 2>/dev/null) || continue
        # Print sys.executable, not the PATH entry: later calls then skip wrappers such as
        # pyenv shims, which cost ~150 ms each.
        if path=$("$path" -c 'import sys
if sys.version_info < (3, 11): sys.exit(1)
print(sys.executable)' 2>/dev/null) && [[ -n $path ]]; then
            printf '%s\n' "$path"
            return 0
        fi
    done
    {
        printf 'Tunesmith needs Python 3.11 or newer; found none of: %s\n' "${candidates[*]}"
        for candidate in "${candidates[@]}"; do
            if path=$(command -v "$candidate" 2>/dev/null); then
                printf '  %s is %s\n' "$path" "$("$path" --version 2>&1 || echo 'not runnable')"
            fi
        done
        printf 'Install one, e.g. Debian 12: sudo apt-get install python3 python3-venv\n'
        printf '  Ubuntu 22.04: sudo apt-get install python3.11 python3.11-venv\n'
        printf '  elsewhere: https://github.com/pyenv/pyenv, then PYTHON=/path/to/python3.11 make setup\n'
    } >&2
    return 1
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    tunesmith_find_python
fi
