#!/usr/bin/env bash
# Set up (first run only) and start SRGAN Desktop with the shipped default model.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
# Qt's X11 plugin aborts with "Could not load the Qt platform plugin xcb" when system libraries are
# missing: name them (and their Debian/Ubuntu packages, as in the README's System packages line).
SYSTEM_PACKAGES="libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0 libx11-xcb1 libgl1 libegl1 libfontconfig1 libdbus-1-3"
if [[ "$(uname -s)" == Linux && -n "${DISPLAY:-}" && -z "${QT_QPA_PLATFORM:-}" ]] && command -v ldd >/dev/null; then
    xcb=$(ls .venv/lib/python3*/site-packages/PySide6/Qt/plugins/platforms/libqxcb.so 2>/dev/null | head -n 1 || true)
    missing=$([[ -n "$xcb" ]] && ldd "$xcb" 2>/dev/null | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ' || true)
    if [[ -n "$missing" ]]; then
        echo "SRGAN Desktop cannot open its window: the Qt X11 plugin needs system libraries that are missing:" >&2
        echo "  $missing" >&2
        echo "Install them (Debian/Ubuntu): sudo apt install $SYSTEM_PACKAGES" >&2
        exit 1
    fi
fi
exec .venv/bin/srgan-desktop "$@"
