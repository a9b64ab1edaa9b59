#!/bin/sh
# deps.sh check|install: the Debian packages aoi builds against.
# check exits 0 when every header and library is there; install runs apt-get
# as root, and otherwise prints the one command to run.
#
# `install all` adds the optional packages the tests use when present,
# then the browser for the test of aoi-datatool report's page: Debian's
# chromium, node and npm, and from the npm registry playwright-core
# (pinned) into AOI_PEERS (~/.cache/aoi-peers). playwright-core downloads
# no browser; the test tells it to use /usr/bin/chromium. A browser that
# does not install is a warning, not a failure: that test then skips.
set -u
PKGS="libpng-dev libjpeg62-turbo-dev libjansson-dev libopenblas-openmp-dev pkg-config mandoc"
OPTIONAL="zsh jq libopenmpi-dev openmpi-bin librabbitmq-dev rabbitmq-server"
PLAYWRIGHT=playwright-core@1.65.1
PEERS=${AOI_PEERS:-${HOME:-/root}/.cache/aoi-peers}

# chromium, and node and npm when the machine has no npm, from Debian; then
# playwright-core. 1 on a failure (said on stderr).
install_browser() {
	browser=chromium
	command -v npm >/dev/null 2>&1 || browser="chromium nodejs npm"
	apt-get install -y -q $browser >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get install -y -q $browser >/dev/null; } ||
		{ echo "aoi: apt-get install $browser failed" >&2; return 1; }
	[ -d "$PEERS/node_modules/playwright-core" ] && return 0
	mkdir -p "$PEERS" && (cd "$PEERS" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
		npm install --save-exact --no-audit --no-fund --ignore-scripts \
		--fetch-retries=1 "$PLAYWRIGHT" >/dev/null) ||
		{ echo "aoi: npm install $PLAYWRIGHT failed (in $PEERS)" >&2; return 1; }
}

missing() {
	for h in png.h jpeglib.h jansson.h; do
		[ -e /usr/include/$h ] || { echo "$h"; return 0; }
	done
	found=
	for h in /usr/include/cblas.h /usr/include/*/cblas.h; do
		[ -e "$h" ] && found=$h
	done
	[ -n "$found" ] || { echo cblas.h; return 0; }
	command -v mandoc >/dev/null 2>&1 || { echo mandoc; return 0; }
	return 1
}

case "${1:-check}" in
check)
	if m=$(missing); then
		echo "aoi: missing build dependency ($m)" >&2
		exit 1
	fi
	exit 0 ;;
install)
	all="$PKGS"
	[ "${2:-}" = all ] && all="$PKGS $OPTIONAL"
	if [ "$(id -u)" != 0 ]; then
		echo "aoi: run as root: apt-get install -y $all" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q $all >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get install -y -q $all >/dev/null; } ||
		{ echo "aoi: apt-get install $all failed" >&2; exit 1; }
	if [ "${2:-}" = all ] && ! install_browser; then
		echo "aoi: warning: no headless browser; the report's browser test will skip" >&2
	fi
	;;
*)
	echo "usage: deps.sh check|install [all]" >&2; exit 2 ;;
esac
