# Sourced by scripts/*: create .venv with Python >= 3.11 and install the project with its dev extras.
# Re-installs only when pyproject.toml changed since the last install.
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))'; then
      PY=$cand; break
    fi
  done
fi
[ -n "$PY" ] || { echo "error: Python 3.11, 3.12 or 3.13 is needed (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $PY"
  "$PY" -m venv .venv
fi
stamp=.venv/.openclaw-convos-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "== installing openclaw-convos and its dev tools into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  touch "$stamp"
fi
# libxmtp logs INFO to stdout unless told otherwise.
export RUST_LOG=${RUST_LOG:-off}
