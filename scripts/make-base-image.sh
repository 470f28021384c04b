#!/usr/bin/env bash
# Make a local stand-in for the Dockerfile's base image, python:3.11-slim-bookworm, from
# Debian's packages alone, for a machine that reaches Debian's mirror but not Docker Hub.
#
#   scripts/make-base-image.sh [options]
#   docker build --build-arg PYTHON_IMAGE=haema-base:python3.11-bookworm -t haema .
#
# The image is Debian 12 (debootstrap --variant=minbase) with Debian's Python 3.11, laid out
# where the official image has its own build of Python, which is what the Dockerfile counts
# on: `python` and `pip` in /usr/local/bin first on PATH, packages in
# /usr/local/lib/python3.11/site-packages (so `pip install --prefix=/install` in one stage
# and `COPY /install /usr/local` in the next meet), the C headers for building PyAV, and
# `apt-get` against Debian bookworm, bookworm-updates and bookworm-security. That layout is a
# virtual environment made at /usr/local: Debian's own python3 keeps its dist-packages and
# its "externally managed" marker, and pip works inside the environment as in the official
# image.
#
# Options:
#   --tag NAME         the image's name        [BASE_TAG, haema-base:python3.11-bookworm]
#   --mirror URL       Debian mirror           [DEBIAN_MIRROR, http://deb.debian.org/debian]
#   --ca-cert FILE     also trust this CA (PEM), e.g. a proxy's that re-signs HTTPS; pip in
#                      the image is then pointed at the system store (PIP_CERT). Repeatable.
#   --work DIR         where to build the root file system (default: a temp dir, removed)
#   --docker CMD       the docker client to use [DOCKER, docker]
#   --no-python        Debian minbase alone, without Python (ca-certificates, netbase and tzdata
#                      still): the bare target the single-file binary is tested on
#                      (tests/test_binary.py); default tag haema-base:bookworm-bare
#   -h, --help
#
# Needs root (debootstrap, chroot), debootstrap and a running Docker daemon.
set -euo pipefail

TAG="${BASE_TAG:-haema-base:python3.11-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DOCKER="${DOCKER:-docker}"
WORK_DIR=""
PYTHON=1
declare -a CA_CERTS=()

die() { echo "make-base-image: $*" >&2; exit 1; }
log() { echo "make-base-image: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --tag) TAG="$2"; shift 2 ;;
        --mirror) MIRROR="$2"; shift 2 ;;
        --ca-cert) CA_CERTS+=("$2"); shift 2 ;;
        --work) WORK_DIR="$2"; shift 2 ;;
        --docker) DOCKER="$2"; shift 2 ;;
        --no-python) PYTHON=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

[ "$PYTHON" = 1 ] || TAG="${BASE_TAG:-haema-base:bookworm-bare}"
[ "$(id -u)" = 0 ] || die "needs root (debootstrap and chroot)"
command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
$DOCKER version >/dev/null || die "cannot reach the Docker daemon with '$DOCKER'"
for cert in "${CA_CERTS[@]}"; do
    grep -q 'BEGIN CERTIFICATE' "$cert" || die "$cert is not a PEM certificate"
done

if [ -z "$WORK_DIR" ]; then
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/haema-base.XXXXXX")"
    trap 'umount "$WORK_DIR/root/proc" 2>/dev/null || true; rm -rf "$WORK_DIR"' EXIT
else
    trap 'umount "$WORK_DIR/root/proc" 2>/dev/null || true' EXIT
fi
ROOT="$WORK_DIR/root"
[ ! -e "$ROOT" ] || die "$ROOT exists already; pass another --work"
start=$(date +%s)

# Slim as Debian's own container images are: no manuals, docs or translations
# (copyright files stay), nor Python's static libraries (25 MB, for embedding Python). Written before debootstrap's second stage would be too late for
# the base packages, so those are trimmed once at the end with the same patterns.
SLIM_DPKG='path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/lib/python3.11/config-3.11-*/*.a'

log "debootstrap bookworm from $MIRROR into $ROOT"
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$WORK_DIR/debootstrap.log" 2>&1 \
    || { tail -n 30 "$WORK_DIR/debootstrap.log" >&2; die "debootstrap failed"; }
mkdir -p "$ROOT/etc/dpkg/dpkg.cfg.d"
printf '%s\n' "$SLIM_DPKG" >"$ROOT/etc/dpkg/dpkg.cfg.d/docker-slim"
# apt as in Debian's container images: no package caches (pkgcache.bin and srcpkgcache.bin
# are 80 MB, which every `apt-get update && apt-get install` layer would otherwise keep), no
# downloaded .debs, no translations, compressed lists.
clean='rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true'
cat >"$ROOT/etc/apt/apt.conf.d/docker-clean" <<EOF
DPkg::Post-Invoke { "$clean"; };
APT::Update::Post-Invoke { "$clean"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$ROOT/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$ROOT/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$ROOT/etc/apt/apt.conf.d/docker-autoremove-suggests"

cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian}/debian-security bookworm-security main
EOF
if [ "$MIRROR" = "${MIRROR%/debian}" ]; then
    sed -i '$d' "$ROOT/etc/apt/sources.list"
    log "the mirror's path does not end in /debian: bookworm-security left out of sources.list"
fi
# The container's own /etc/resolv.conf and /etc/hosts are Docker's; these are for the chroot.
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp /etc/hosts "$ROOT/etc/hosts"

mount -t proc proc "$ROOT/proc"
in_root() {  # a command in the new root; its output goes to chroot.log, shown if it fails
    chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@" \
        >>"$WORK_DIR/chroot.log" 2>&1 || { tail -n 30 "$WORK_DIR/chroot.log" >&2; die "failed in the root: $*"; }
}

# What python:3.11-slim-bookworm carries beside Python: CA certificates, netbase, tzdata.
in_root apt-get update
in_root apt-get -y upgrade
if [ "$PYTHON" = 1 ]; then
    log "installing Debian's Python 3.11, its headers and venv"
    in_root apt-get install -y --no-install-recommends \
        python3.11 python3.11-venv libpython3.11-dev ca-certificates netbase tzdata
else
    in_root apt-get install -y --no-install-recommends ca-certificates netbase tzdata
fi

ENV_CHANGES=()
if [ "${#CA_CERTS[@]}" -gt 0 ]; then
    mkdir -p "$ROOT/usr/local/share/ca-certificates"
    for cert in "${CA_CERTS[@]}"; do
        cp "$cert" "$ROOT/usr/local/share/ca-certificates/$(basename "${cert%.*}").crt"
    done
    in_root update-ca-certificates
    ENV_CHANGES+=(--change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt')
fi

# Python where the official image has it. A venv in /usr/local: its pip installs into
# /usr/local/lib/python3.11/site-packages, and `--prefix=/install` into the same layout.
[ "$PYTHON" = 0 ] || in_root python3.11 -m venv /usr/local
rm -f "$ROOT"/usr/local/bin/activate* "$ROOT"/usr/local/bin/Activate.ps1

in_root apt-get clean
umount "$ROOT/proc"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/log/*.log \
       "$ROOT"/var/log/apt/* "$ROOT"/tmp/* "$ROOT"/root/.cache
find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/lintian/*
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
: >"$ROOT/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n' >"$ROOT/etc/hosts"

log "importing the root file system as $TAG"
if [ "$PYTHON" = 0 ]; then
    tar --numeric-owner -C "$ROOT" -c . | $DOCKER import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["bash"]' \
        --message "Debian bookworm minbase, no Python (scripts/make-base-image.sh --no-python)" \
        - "$TAG" >/dev/null
    if $DOCKER run --rm "$TAG" sh -c 'command -v python3 || command -v python || ls /usr/bin/python*' 2>/dev/null; then
        die "$TAG has a Python"
    fi
    log "$TAG made in $(( $(date +%s) - start )) s: $($DOCKER image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}')"
    exit 0
fi
tar --numeric-owner -C "$ROOT" -c . | $DOCKER import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    "${ENV_CHANGES[@]}" \
    --change 'CMD ["python3"]' \
    --message "Debian bookworm minbase + Debian's Python 3.11 in /usr/local (scripts/make-base-image.sh)" \
    - "$TAG" >/dev/null

# The layout the Dockerfile counts on, checked in the image itself.
$DOCKER run --rm -i "$TAG" python - <<'PY'
import os, shutil, sys, sysconfig
paths = sysconfig.get_paths()
want = {
    "python": (shutil.which("python"), "/usr/local/bin/python"),
    "pip": (shutil.which("pip"), "/usr/local/bin/pip"),
    "purelib": (paths["purelib"], "/usr/local/lib/python3.11/site-packages"),
    "platlib": (paths["platlib"], "/usr/local/lib/python3.11/site-packages"),
}
wrong = {k: v for k, v in want.items() if v[0] != v[1]}
assert not wrong, f"not where the Dockerfile expects it: {wrong}"
assert sys.version_info[:2] == (3, 11), sys.version
assert os.path.exists(os.path.join(paths["include"], "Python.h")), paths["include"]
print("python", sys.version.split()[0], "at", sys.executable, "site-packages", paths["purelib"])
PY
log "$TAG made in $(( $(date +%s) - start )) s: $($DOCKER image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}')"
