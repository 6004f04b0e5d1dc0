# Sourced by fetch-default, convert and inspect (not run directly).
# ensure_venv TOOLS_DIR: make sure TOOLS_DIR/.venv exists and holds exactly the packages
# pinned in requirements.txt. A stamp file records the sha256 of the requirements.txt that
# was installed, so an up-to-date venv costs one hash and nothing is reinstalled.
# All output goes to stderr: the callers keep stdout for their results.

_sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1  # macOS
    fi
}

ensure_venv() {
    local tools_dir=$1
    local venv="$tools_dir/.venv" req="$tools_dir/requirements.txt"
    local stamp="$venv/.requirements.sha256"
    local want
    want=$(_sha256_of "$req") || { echo "error: cannot read $req" >&2; return 1; }
    if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi

    local py=${PYTHON:-python3}
    if ! command -v "$py" >/dev/null 2>&1; then
        echo "error: '$py' not found; install Python 3.11+ or set PYTHON=/path/to/python3" >&2
        return 1
    fi
    if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "error: $("$py" --version 2>&1) is too old: the pinned numpy needs Python 3.11+ (set PYTHON=...)" >&2
        return 1
    fi
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "weights-tools: creating virtual environment $venv" >&2
        rm -rf "$venv"
        if ! "$py" -m venv "$venv" >&2; then
            rm -rf "$venv"
            echo "error: '$py -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
            return 1
        fi
    fi
    echo "weights-tools: installing pinned packages from $req" >&2
    rm -f "$stamp"  # if the install fails half way, the next run must retry it
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$req" >&2; then
        echo "error: pip install -r $req failed (is PyPI reachable? see pip's message above)" >&2
        return 1
    fi
    echo "$want" >"$stamp"
}
