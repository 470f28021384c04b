#!/usr/bin/env bash
# Build the FFmpeg that Haema needs, and nothing more.
#
#   scripts/build-ffmpeg.sh [options]
#
# FFmpeg is configured with --disable-everything and then only the components listed in
# scripts/ffmpeg-components.txt are enabled (see that file; tests/test_ffmpeg_components.py
# keeps it in step with the code). Shared libraries go to PREFIX/lib and headers and
# pkg-config files to PREFIX/include and PREFIX/lib/pkgconfig, ready for
#
#   PKG_CONFIG_PATH=PREFIX/lib/pkgconfig pip install av --no-binary av
#
# Used by the Dockerfile; also runs on a plain Debian/Ubuntu host (--install-deps brings the
# build dependencies with apt-get).
#
# Options (each also settable through the environment variable in brackets):
#   --prefix DIR           install here                                     [PREFIX, /usr/local]
#   --source PATH          use this source tree or tarball instead of downloading it [FFMPEG_SOURCE]
#   --url URL              release tarball to download                      [FFMPEG_URL]
#   --sha256 HEX           its checksum; "skip" to not check (not advised)  [FFMPEG_SHA256]
#   --work DIR             where to unpack and build (default: a temp dir)  [WORK_DIR]
#   --jobs N, -jN          parallel make jobs (default: number of CPUs)     [JOBS]
#   --components FILE      the component list (default: next to this script) [COMPONENTS]
#   --arch ARCH            x86_64 | aarch64 | ...; picks the arm64-only components (default: uname -m)
#   --with-test-fixtures   also build what the test suite needs to make its sample clips
#   --install-deps         apt-get install the build dependencies first (Debian/Ubuntu, as root)
#   --print-configure      print the configure command line and exit (no download, no build)
#   --keep                 keep the build directory
#   -h, --help
#
# On a shared machine run it as `nice -n 19 scripts/build-ffmpeg.sh -j2 ...`.
set -euo pipefail

# The pinned release. Debian's orig tarball of the same release is the very same file
# (Debian ships it with upstream's signature), so it serves as a mirror.
FFMPEG_VERSION="${FFMPEG_VERSION:-8.1.2}"
FFMPEG_URL="${FFMPEG_URL:-https://ffmpeg.org/releases/ffmpeg-${FFMPEG_VERSION}.tar.xz}"
FFMPEG_MIRROR_URL="${FFMPEG_MIRROR_URL:-https://deb.debian.org/debian/pool/main/f/ffmpeg/ffmpeg_${FFMPEG_VERSION}.orig.tar.xz}"
FFMPEG_SHA256="${FFMPEG_SHA256:-464beb5e7bf0c311e68b45ae2f04e9cc2af88851abb4082231742a74d97b524c}"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${PREFIX:-/usr/local}"
FFMPEG_SOURCE="${FFMPEG_SOURCE:-}"
WORK_DIR="${WORK_DIR:-}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
COMPONENTS="${COMPONENTS:-$SCRIPT_DIR/ffmpeg-components.txt}"
ARCH="${ARCH:-$(uname -m)}"
WITH_FIXTURES=0
INSTALL_DEPS=0
PRINT_ONLY=0
KEEP=0

die() { echo "build-ffmpeg: $*" >&2; exit 1; }
log() { echo "build-ffmpeg: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX="$2"; shift 2 ;;
        --prefix=*) PREFIX="${1#*=}"; shift ;;
        --source) FFMPEG_SOURCE="$2"; shift 2 ;;
        --source=*) FFMPEG_SOURCE="${1#*=}"; shift ;;
        --url) FFMPEG_URL="$2"; FFMPEG_MIRROR_URL=""; shift 2 ;;
        --url=*) FFMPEG_URL="${1#*=}"; FFMPEG_MIRROR_URL=""; shift ;;
        --sha256) FFMPEG_SHA256="$2"; shift 2 ;;
        --sha256=*) FFMPEG_SHA256="${1#*=}"; shift ;;
        --work) WORK_DIR="$2"; shift 2 ;;
        --work=*) WORK_DIR="${1#*=}"; shift ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --jobs=*) JOBS="${1#*=}"; shift ;;
        -j*) JOBS="${1#-j}"; shift ;;
        --components) COMPONENTS="$2"; shift 2 ;;
        --components=*) COMPONENTS="${1#*=}"; shift ;;
        --arch) ARCH="$2"; shift 2 ;;
        --arch=*) ARCH="${1#*=}"; shift ;;
        --with-test-fixtures) WITH_FIXTURES=1; shift ;;
        --install-deps) INSTALL_DEPS=1; shift ;;
        --print-configure) PRINT_ONLY=1; shift ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

[ -f "$COMPONENTS" ] || die "component list $COMPONENTS not found"
case "$JOBS" in ''|*[!0-9]*) die "--jobs wants a number, got '$JOBS'" ;; esac
case "$ARCH" in arm64|aarch64) IS_ARM64=1 ;; *) IS_ARM64=0 ;; esac

# ---------------------------------------------------------------------------------------
# Read the component list: "KIND NAME [TAG...]  # comment".
declare -a CONF_FLAGS=() CHECKS=()
NEED_LIBS=" "
while read -r line; do
    line="${line%%#*}"
    read -r kind name tags <<<"$line" || true
    [ -n "${kind:-}" ] || continue
    [ -n "${name:-}" ] || die "$COMPONENTS: '$line' has no name"
    skip=0
    for tag in ${tags:-}; do
        case "$tag" in
            arm64) [ "$IS_ARM64" = 1 ] || skip=1 ;;
            fixture) [ "$WITH_FIXTURES" = 1 ] || skip=1 ;;
            builtin) skip=1 ;;
            *) die "$COMPONENTS: unknown tag '$tag' on '$kind $name'" ;;
        esac
    done
    [ "$skip" = 0 ] || continue
    case "$kind" in
        lib) CONF_FLAGS+=("--enable-$name"); NEED_LIBS="$NEED_LIBS$name " ;;
        demuxer|muxer|decoder|encoder|parser|bsf|filter|protocol)
            CONF_FLAGS+=("--enable-$kind=$name"); CHECKS+=("$kind $name") ;;
        *) die "$COMPONENTS: unknown kind '$kind'" ;;
    esac
done <"$COMPONENTS"

CONFIGURE=(./configure
    --prefix="$PREFIX"
    --enable-shared --disable-static
    --disable-programs --disable-doc --disable-debug
    --disable-autodetect --disable-network
    --disable-everything
    "${CONF_FLAGS[@]}"
    --extra-ldflags="-Wl,-rpath,$PREFIX/lib"
)

if [ "$PRINT_ONLY" = 1 ]; then
    printf '%q ' "${CONFIGURE[@]}"; echo
    exit 0
fi

# ---------------------------------------------------------------------------------------
if [ "$INSTALL_DEPS" = 1 ]; then
    pkgs="build-essential nasm pkg-config curl ca-certificates xz-utils"
    case "$NEED_LIBS" in *" libx264 "*) pkgs="$pkgs libx264-dev" ;; esac
    case "$NEED_LIBS" in *" libdav1d "*) pkgs="$pkgs libdav1d-dev" ;; esac
    case "$NEED_LIBS" in *" zlib "*) pkgs="$pkgs zlib1g-dev" ;; esac
    case "$NEED_LIBS" in *" libopus "*) pkgs="$pkgs libopus-dev" ;; esac
    case "$NEED_LIBS" in *" libmp3lame "*) pkgs="$pkgs libmp3lame-dev" ;; esac
    case "$NEED_LIBS" in *" libx265 "*) pkgs="$pkgs libx265-dev" ;; esac
    case "$NEED_LIBS" in *" libvpx "*) pkgs="$pkgs libvpx-dev" ;; esac
    case "$NEED_LIBS" in *" v4l2-m2m "*) pkgs="$pkgs linux-libc-dev" ;; esac
    log "installing build dependencies: $pkgs"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $pkgs
fi

for tool in make cc pkg-config nasm; do
    command -v "$tool" >/dev/null || die "$tool is missing (Debian: --install-deps, or apt-get install build-essential nasm pkg-config)"
done

if [ -z "$WORK_DIR" ]; then
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/haema-ffmpeg.XXXXXX")"
    [ "$KEEP" = 1 ] || trap 'rm -rf "$WORK_DIR"' EXIT
fi
mkdir -p "$WORK_DIR"

fetch() {  # fetch URL FILE
    if command -v curl >/dev/null; then curl -fsSL --retry 3 -o "$2" "$1"
    else wget -q -O "$2" "$1"; fi
}

verify() {  # verify FILE
    [ "$FFMPEG_SHA256" = skip ] && { log "not checking the checksum of $1 (--sha256 skip)"; return 0; }
    echo "$FFMPEG_SHA256  $1" | sha256sum -c --status || {
        log "checksum mismatch for $1: got $(sha256sum "$1" | cut -d' ' -f1), want $FFMPEG_SHA256"; return 1; }
}

unpack() {  # unpack TARBALL → sets SRC
    mkdir -p "$WORK_DIR/src"
    tar -xf "$1" -C "$WORK_DIR/src"
    SRC="$(find "$WORK_DIR/src" -mindepth 1 -maxdepth 1 -type d | head -n1)"
}

if [ -n "$FFMPEG_SOURCE" ] && [ -d "$FFMPEG_SOURCE" ]; then
    [ -x "$FFMPEG_SOURCE/configure" ] || die "$FFMPEG_SOURCE has no configure script"
    log "building from the source tree $FFMPEG_SOURCE (copied, the tree is left untouched)"
    mkdir -p "$WORK_DIR/src"
    cp -a "$FFMPEG_SOURCE" "$WORK_DIR/src/ffmpeg"
    SRC="$WORK_DIR/src/ffmpeg"
elif [ -n "$FFMPEG_SOURCE" ]; then
    [ -f "$FFMPEG_SOURCE" ] || die "$FFMPEG_SOURCE is neither a directory nor a file"
    verify "$FFMPEG_SOURCE" || die "refusing to build an unexpected tarball (pass --sha256 for another release)"
    unpack "$FFMPEG_SOURCE"
else
    tarball="$WORK_DIR/ffmpeg-$FFMPEG_VERSION.tar.xz"
    ok=0
    for url in "$FFMPEG_URL" $FFMPEG_MIRROR_URL; do
        log "downloading $url"
        if fetch "$url" "$tarball" && verify "$tarball"; then ok=1; break; fi
        rm -f "$tarball"
    done
    [ "$ok" = 1 ] || die "could not download FFmpeg $FFMPEG_VERSION; pass --source with a local tarball or tree"
    unpack "$tarball"
fi

# Every listed name must exist in this FFmpeg, or configure would silently ignore it.
cd "$SRC"
missing=""
for check in "${CHECKS[@]}"; do
    read -r kind name <<<"$check"
    list="$WORK_DIR/list-$kind"
    [ -f "$list" ] || ./configure "--list-${kind}s" | tr -s ' \t' '\n' | sed '/^$/d' >"$list"
    grep -qx "$name" "$list" || missing="$missing $kind:$name"
done
[ -z "$missing" ] || die "FFmpeg $(cat VERSION 2>/dev/null || echo '?') has no$missing"

log "configuring FFmpeg $(cat VERSION 2>/dev/null || echo '(git)') for $ARCH into $PREFIX"
start=$(date +%s)
if ! "${CONFIGURE[@]}" >"$WORK_DIR/configure.log" 2>&1; then
    tail -n 30 "$WORK_DIR/configure.log" >&2; tail -n 40 ffbuild/config.log >&2 || true
    die "configure failed"
fi

# configure drops components whose dependencies are missing without a word: check.
for check in "${CHECKS[@]}"; do
    read -r kind name <<<"$check"
    macro="CONFIG_$(echo "${name}_${kind}" | tr '[:lower:]' '[:upper:]')"
    grep -q "^#define $macro 1" config_components.h || missing="$missing $kind:$name"
done
[ -z "$missing" ] || die "configure left out (a dependency is missing?):$missing"

make -j"$JOBS" >"$WORK_DIR/make.log" 2>&1 || { tail -n 40 "$WORK_DIR/make.log" >&2; die "make failed"; }
make install >"$WORK_DIR/install.log" 2>&1 || { tail -n 40 "$WORK_DIR/install.log" >&2; die "make install failed"; }
for lib in "$PREFIX"/lib/lib{avcodec,avformat,avfilter,avutil,avdevice,swscale,swresample}.so.*; do
    [ -L "$lib" ] || strip --strip-unneeded "$lib"
done
mkdir -p "$PREFIX/share/haema-ffmpeg"
cp "$COMPONENTS" "$PREFIX/share/haema-ffmpeg/components.txt"
printf '%q ' "${CONFIGURE[@]}" >"$PREFIX/share/haema-ffmpeg/configure.txt"; echo >>"$PREFIX/share/haema-ffmpeg/configure.txt"

log "FFmpeg $(cat VERSION 2>/dev/null) built and installed in $(( $(date +%s) - start ))s"
du -ch "$PREFIX"/lib/lib{avcodec,avformat,avfilter,avutil,avdevice,swscale,swresample}.so.*.* | tail -n1 | sed 's/^/build-ffmpeg: shared libraries: /' >&2
