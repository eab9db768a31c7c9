#!/usr/bin/env bash
# Render an HTML report to PNG (or, for OUT.pdf, print it to A4 PDF) in headless Chromium,
# to look at it as a person would, or attach it to a change ticket.
#   scripts/render-report.sh reports/golive-report.html reports/golive-report.png
#   scripts/render-report.sh reports/golive-report.html reports/golive-report.pdf
set -euo pipefail
html=$(realpath "$1")
png=${2:-${1%.html}.png}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "render-report: no Chromium found (Debian: apt-get install chromium)" >&2
    exit 1
fi
case "$png" in
    *.pdf) output=(--print-to-pdf="$png" --no-pdf-header-footer) ;;
    *) output=(--screenshot="$png") ;;
esac
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# --disable-background-networking and friends: no calls home on a machine without network
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --window-size=1100,1000 "${output[@]}" "file://$html" >/dev/null 2>&1
echo "render-report: $png"
