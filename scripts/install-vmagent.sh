#!/usr/bin/env bash
# vmagent (VictoriaMetrics) for the end-to-end test: OTLP in, Prometheus remote write out.
# Debian 12's victoria-metrics predates its OTLP ingestion; Debian 13's build runs on Debian 12,
# so apt downloads trixie's .deb and it is unpacked without installing its dependencies.
# The mirror is the one this machine's apt sources already use for its own release (apt's
# proxy and auth settings apply as usual); DEBIAN_MIRROR=URI overrides it. trixie is added
# only in a temporary sources list and package lists: the host's apt state is left alone.
# Needs root for the default locations; VMAGENT_PREFIX (unpack directory, default
# /opt/victoria-metrics) and VMAGENT_BIN_DIR (link directory, default /usr/local/bin) move them.
set -euo pipefail
command -v vmagent >/dev/null 2>&1 && exit 0
PREFIX=${VMAGENT_PREFIX:-/opt/victoria-metrics}
BIN_DIR=${VMAGENT_BIN_DIR:-/usr/local/bin}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
# apt's own reading of sources.list and sources.list.d (both formats, disabled entries skipped).
mirror=${DEBIAN_MIRROR:-$(apt-get indextargets --no-release-info --format '$(RELEASE) $(SITE)' \
  | awk -v c="$codename" '($1 == c || $1 ~ /^(old)?stable$/) && !found {print $2; found = 1}')}
[ -n "$mirror" ] || { echo "no Debian mirror for '$codename' in the apt sources; set DEBIAN_MIRROR" >&2; exit 1; }
[ -r "$KEYRING" ] || { echo "$KEYRING missing (package debian-archive-keyring)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"  # apt fetches as the unprivileged _apt user
mkdir -p "$tmp/parts" "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/deb"
# The download directory is the _apt user's to write, as apt's own cache is.
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$tmp/deb"; fi
echo "deb [signed-by=$KEYRING] $mirror trixie main" > "$tmp/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o "Dir::Etc::SourceParts=$tmp/parts"
          -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o "APT::Get::List-Cleanup=false")
apt-get "${apt_opts[@]}" -qq update
(cd "$tmp/deb" && apt-get "${apt_opts[@]}" -qq download victoria-metrics)
debs=("$tmp"/deb/victoria-metrics_*.deb)
deb=${debs[0]}
[ -f "$deb" ] || { echo "victoria-metrics not downloaded from trixie" >&2; exit 1; }
mkdir -p "$PREFIX" "$BIN_DIR"
dpkg -x "$deb" "$PREFIX"
ln -sf "$PREFIX/usr/bin/vmagent" "$BIN_DIR/vmagent"
# Debian's build prints an empty version line: running it proves the binary works here.
"$BIN_DIR/vmagent" -version >/dev/null
echo "vmagent installed: $BIN_DIR/vmagent -> $PREFIX/usr/bin/vmagent"
