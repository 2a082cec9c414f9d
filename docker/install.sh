#!/bin/sh
# The one recipe both image targets run, whatever their base, in two layers:
#   install.sh dependencies  the locked dependencies (cached until the lock changes)
#   install.sh package       the glasses wheel on top (nothing else may change: --no-deps),
#                            the unprivileged user, and matplotlib's font cache built once
#                            here, so no step rebuilds it at start
set -eu
here=/opt/glasses
case "${1:-}" in
dependencies)
    python3 -m pip install --no-cache-dir --requirement "$here/requirements.lock"
    ;;
package)
    python3 -m pip install --no-cache-dir --no-deps "$here"/wheels/*.whl
    python3 -m pip check
    rm -rf "$here/wheels" "$here/requirements.lock"
    useradd --create-home --uid 10001 glasses
    mkdir -p "$here/matplotlib" /tmp/keras
    MPLCONFIGDIR="$here/matplotlib" python3 -c "import matplotlib.font_manager"
    chmod -R a+rwX "$here/matplotlib" && chmod 1777 "$here/matplotlib" /tmp/keras
    ;;
*)
    echo "usage: install.sh dependencies|package" >&2
    exit 2
    ;;
esac
