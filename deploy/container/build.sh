#!/bin/sh
# Builds the policing-metrics image: the wheelhouse, then the Containerfile with no network, labelled with the
# version and the git revision. Any arguments go to the engine's build command (e.g. --ulimit, --pull=never).
#   ENGINE      podman (default) or docker
#   IMAGE       the tag, default localhost/policing-metrics:VERSION
#   SOURCE      the org.opencontainers.image.source label, default the git remote `origin`
#   BASE_IMAGE  default the Containerfile's (the official Python 3.11 slim image); see base-image.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
engine=${ENGINE:-podman}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/pyproject.toml")
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
source=${SOURCE:-$(git -C "$root" remote get-url origin 2>/dev/null || echo unknown)}
image=${IMAGE:-localhost/policing-metrics:$version}

"$here/wheelhouse.sh"

set -- --network none --build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "SOURCE=$source" --tag "$image" "$@"
if [ -n "${BASE_IMAGE:-}" ]; then
    set -- --build-arg "BASE_IMAGE=$BASE_IMAGE" "$@"
fi
if [ "$engine" = podman ]; then
    set -- --format docker "$@"  # OCI image configs have no HEALTHCHECK
fi
"$engine" build --file "$here/Containerfile" "$@" "$here"
echo "build.sh: $image ($("$engine" image inspect --format '{{.Size}}' "$image") bytes)"
