#!/usr/bin/env bash
# Build Haema as one executable file, dist/haema-<arch>, that needs no Python on the
# target: PyInstaller (--onefile) bundles the interpreter, Haema (with haema/static and
# haema/migrations), its dependencies and the av wheel's FFmpeg libraries. On start it
# unpacks itself into a temp dir; its encoder, scan and watch processes are the same
# binary again (haema/cli.py).
#
#   scripts/build-binary.sh [--out DIR]
#
# PyInstaller builds for the machine it runs on (no cross-compiling) and the binary needs
# a glibc as new as the build machine's: build on the oldest Debian you target. For a
# Raspberry Pi (arm64), run this script on an arm64 machine, or in an arm64 container:
#
#   docker run --rm --platform linux/arm64 -v "$PWD":/src -w /src python:3.11-bookworm scripts/build-binary.sh
#
# (on x86-64 with qemu-user-static / `docker run --privileged --rm tonistiigi/binfmt --install arm64`
# first; about ten times slower under emulation).
#
# Needs Python 3.11 built with a shared libpython (Debian's and python:3.11 images' are).
# Makes a venv (build/binary-venv, seeing the system's site-packages, so what is installed
# already is not fetched again) with Haema and PyInstaller in it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
OUT="$ROOT/dist"
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="$(realpath -m "$2")"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-binary: unknown option $1" >&2; exit 2 ;;
    esac
done
PYTHON="${PYTHON:-python3}"
PYINSTALLER_VERSION=6.22.3  # pinned: the hooks for gevent, av and multiprocessing it brings are what was tested
VENV="$ROOT/build/binary-venv"
ARCH="$(uname -m)"

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv --system-site-packages "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "pyinstaller==$PYINSTALLER_VERSION" wheel==0.45.1
# Haema's pinned dependencies (requirements.txt's runtime section, read by setup.py). The
# binary takes Haema's own modules from this checkout (haema.py's folder comes first); the
# in-tree build's leftovers are removed so a deleted module cannot linger in build/lib.
rm -rf "$ROOT/build/lib" "$ROOT"/build/bdist.*
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation "$ROOT"

start=$(date +%s)
# --collect-submodules haema: the worker state class crosses the process boundary by name
# and migrations are loaded from files (added as data, .py included), so modulegraph does not
# see them all. babelfish finds its language converters through its package metadata.
# psycopg loads its binary build by name (only for --db postgresql://). watchdog picks its
# observer (inotify) at run time.
"$VENV/bin/python" -m PyInstaller --noconfirm --clean --onefile --name "haema-$ARCH" \
    --distpath "$OUT" --workpath "$ROOT/build/pyinstaller" --specpath "$ROOT/build/pyinstaller" \
    --paths "$ROOT" \
    --add-data "$ROOT/haema/static:haema/static" \
    --add-data "$ROOT/haema/migrations:haema/migrations" \
    --collect-submodules haema \
    --collect-submodules av \
    --collect-all guessit --collect-all rebulk --collect-all babelfish \
    --collect-submodules psycopg --collect-all psycopg_binary \
    --collect-submodules watchdog \
    --exclude-module tkinter --exclude-module pytest --exclude-module playwright \
    --log-level WARN \
    "$ROOT/haema.py"
BINARY="$OUT/haema-$ARCH"
echo "build-binary: $BINARY, $(du -m "$BINARY" | cut -f1) MB, built in $(( $(date +%s) - start )) s"
