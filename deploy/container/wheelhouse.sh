#!/bin/sh
# Builds deploy/container/wheels/: a wheel of policing-metrics and of every dependency, so the image build
# installs with `pip install --no-index` and needs no network. Run it where PyPI is reachable (or a mirror is set
# in pip's own configuration), with a Python of the image's minor version (3.11) on the image's platform.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}

if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "wheelhouse.sh: $python is Python $("$python" -c 'import platform; print(platform.python_version())'), the image runs 3.11: set PYTHON" >&2
    exit 2
fi
rm -rf "$here/wheels"
"$python" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$here/wheels" "$root"
echo "wheelhouse.sh: $(find "$here/wheels" -name '*.whl' | wc -l) wheels in $here/wheels"
