# Haema in a slim image with an FFmpeg built with only what Haema uses (docs/docker.md).
#
#   docker build -t haema .
#   docker buildx build --platform linux/arm64 -t haema:arm64 --load .    # Raspberry Pi 4/5
#
# Build arguments:
#   FFMPEG_SOURCE  a release tarball or source tree inside the build context (e.g.
#                  vendor/ffmpeg-8.1.2.tar.xz) to build instead of downloading the pinned one
#   JOBS           parallel make jobs for FFmpeg (default: all CPUs)
#   HAEMA_UID/GID  the user the server runs as; match the owner of your data and cache folders
#   PYTHON_IMAGE   the base of both stages; scripts/make-base-image.sh makes a stand-in
#                  from Debian's packages where Docker Hub is out of reach
#
# Needs BuildKit (RUN --mount), nothing newer than Docker 20.10's built-in Dockerfile
# frontend: no "# syntax=" line, which would have BuildKit fetch its frontend image from
# Docker Hub even when the base image is local, and no heredocs, which Debian 12's docker.io
# (20.10) cannot read.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------
# Stage 1: FFmpeg from source with only the listed components, then PyAV against it.
FROM ${PYTHON_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        build-essential nasm pkg-config curl ca-certificates xz-utils \
        libx264-dev libdav1d-dev zlib1g-dev linux-libc-dev \
 && rm -rf /var/lib/apt/lists/*

COPY scripts/build-ffmpeg.sh scripts/ffmpeg-components.txt /build/scripts/
ARG FFMPEG_SOURCE=
ARG JOBS=
RUN --mount=type=bind,target=/context \
    /build/scripts/build-ffmpeg.sh --prefix /opt/ffmpeg ${JOBS:+--jobs "$JOBS"} \
        ${FFMPEG_SOURCE:+--source "/context/$FFMPEG_SOURCE"}

# PyAV from its source release, linked to the FFmpeg above (not the wheel, whose bundled
# FFmpeg is ~70 MB of codecs Haema never uses). The rest of requirements.txt as wheels,
# without its "# Tests" section (pytest, WebTest, playwright).
COPY requirements.txt /build/
RUN sed '/^#[[:space:]]*[Tt]ests/,$d' /build/requirements.txt \
      | grep -viE '^[[:space:]]*(pytest|webtest|playwright)([=<>~! ;#[]|$)' >/build/runtime.txt \
 && grep -qiE '^av==' /build/runtime.txt \
 && PKG_CONFIG_PATH=/opt/ffmpeg/lib/pkgconfig \
    pip install --no-cache-dir --no-warn-script-location --ignore-installed --prefix=/install \
        --no-binary av -r /build/runtime.txt \
 && find /install -name '*.so' -path '*/av/*' -exec strip --strip-unneeded {} + \
 && mkdir -p /runtime/opt/ffmpeg/lib /runtime/opt/ffmpeg/share \
 && cp -a /opt/ffmpeg/lib/*.so.* /runtime/opt/ffmpeg/lib/ \
 && cp -a /opt/ffmpeg/share/haema-ffmpeg /runtime/opt/ffmpeg/share/

# ---------------------------------------------------------------------------------------
# Stage 2: the runtime. Only shared libraries, Python packages and Haema itself.
FROM ${PYTHON_IMAGE}

# libx264 and dav1d are the only external libraries the FFmpeg build links to.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libx264-164 libdav1d6 \
 && rm -rf /var/lib/apt/lists/*

COPY --from=build /runtime/opt/ffmpeg /opt/ffmpeg
COPY --from=build /install /usr/local
RUN echo /opt/ffmpeg/lib >/etc/ld.so.conf.d/haema-ffmpeg.conf && ldconfig
# PyAV loads, and every listed codec is there.
RUN --mount=type=bind,source=scripts/check-ffmpeg-codecs.py,target=/tmp/check-ffmpeg-codecs.py \
    python /tmp/check-ffmpeg-codecs.py

ARG HAEMA_UID=1000
ARG HAEMA_GID=1000
# The video group owns /dev/video* on Debian and Raspberry Pi OS (h264_v4l2m2m, /dev/video11).
RUN groupadd --gid "$HAEMA_GID" haema \
 && useradd --uid "$HAEMA_UID" --gid haema --groups video --no-create-home \
        --home-dir /app --shell /usr/sbin/nologin haema \
 && mkdir -p /media /data /cache \
 && chown haema:haema /data /cache

WORKDIR /app
COPY --chown=root:root haema.py ./
COPY --chown=root:root haema/ haema/
COPY --chown=root:root conf/ conf/

# The conf file's paths point into the container's volumes and the server listens on all
# addresses. HAEMA_* variables still override any line (environment beats the conf file),
# and a whole conf file can be mounted over /app/conf/haema.conf.
RUN sed -i -E \
        -e 's|^#?[[:space:]]*target_path[[:space:]]*=.*|target_path = /media|' \
        -e 's|^#?[[:space:]]*host[[:space:]]*=.*|host = 0.0.0.0|' \
        -e 's|^#?[[:space:]]*db[[:space:]]*=.*|db = /data/haema.db|' \
        -e 's|^#?[[:space:]]*cache-path[[:space:]]*=.*|cache-path = /cache|' \
        conf/haema.conf \
 && for line in 'target_path = /media' 'host = 0.0.0.0' 'db = /data/haema.db' 'cache-path = /cache'; do \
        grep -qxF "$line" conf/haema.conf || { echo "conf/haema.conf: could not set '$line'" >&2; exit 1; }; \
    done \
 && python -m compileall -q haema

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# /media: the library (mount it read-only); /data: the SQLite database; /cache: segments.
VOLUME ["/media", "/data", "/cache"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, json, urllib.request as u, urllib.error as e\ntry: r = u.urlopen('http://127.0.0.1:%s/api/v1/health' % os.environ.get('HAEMA_PORT', '8080'), timeout=4)\nexcept e.HTTPError as error: r = error\njson.load(r); sys.exit(r.status not in (200, 401))"]

USER haema
CMD ["python", "haema.py", "-c", "conf/haema.conf"]
