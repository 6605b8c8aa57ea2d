#!/bin/sh
# Makes a base image without a registry: Debian bookworm with python3 (3.11), venv and CA certificates, from
# Debian's own packages by mmdebstrap, imported into the local image store. Then build with
#   BASE_IMAGE=localhost/debian-python:bookworm ./build.sh
set -eu

image=${1:-localhost/debian-python:bookworm}
engine=${ENGINE:-podman}
tarball=$(mktemp --suffix=.tar)
trap 'rm -f "$tarball"' EXIT

mmdebstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm "$tarball"
"$engine" import --change 'CMD ["python3"]' "$tarball" "$image"
echo "base-image.sh: $image"
