#!/usr/bin/env bash
# vmagent (VictoriaMetrics) for the end-to-end test: OTLP in, Prometheus remote write out.
# Debian 12 has no package for it; Debian 13's static build runs here, so take the .deb named
# in trixie's current package index (the file name changes with point releases) and unpack it
# without installing its dependencies. Needs root and network to deb.debian.org.
set -euo pipefail
command -v vmagent >/dev/null 2>&1 && exit 0
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ARCH=$(dpkg --print-architecture)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsS -m 60 -o "$tmp/Packages.xz" "$MIRROR/dists/trixie/main/binary-$ARCH/Packages.xz"
xz -dc "$tmp/Packages.xz" > "$tmp/Packages"
deb=$(awk '/^Package: /{p=($2=="victoria-metrics")} p && /^Filename: /{print $2; exit}' "$tmp/Packages")
[ -n "$deb" ] || { echo "victoria-metrics not in trixie's index" >&2; exit 1; }
curl -fsS -m 300 -o "$tmp/vm.deb" "$MIRROR/$deb"
mkdir -p /opt/victoria-metrics
dpkg -x "$tmp/vm.deb" /opt/victoria-metrics
ln -sf /opt/victoria-metrics/usr/bin/vmagent /usr/local/bin/vmagent
vmagent -version
