#!/bin/sh
# deps.sh check|install: the Debian packages aoi builds against.
# check exits 0 when every header and library is there; install runs apt-get
# as root, and otherwise prints the one command to run.
#
# `install all` adds the optional packages the tests use when present,
# among them Debian's chromium and, from the npm registry, playwright-core
# (pinned) into AOI_PEERS (~/.cache/aoi-peers): the browser test of
# aoi-datatool report drives the page with them. playwright-core downloads
# no browser; it is told to use /usr/bin/chromium.
set -u
PKGS="libpng-dev libjpeg62-turbo-dev libjansson-dev libopenblas-openmp-dev pkg-config mandoc"
OPTIONAL="zsh jq libopenmpi-dev openmpi-bin librabbitmq-dev rabbitmq-server chromium"
PLAYWRIGHT=playwright-core@1.65.1
PEERS=${AOI_PEERS:-$HOME/.cache/aoi-peers}

# node and npm from Debian when the machine has none; then playwright-core.
install_playwright() {
	command -v npm >/dev/null 2>&1 || apt-get install -y -q nodejs npm >/dev/null ||
		{ echo "aoi: apt-get install nodejs npm failed" >&2; return 1; }
	[ -d "$PEERS/node_modules/playwright-core" ] && return 0
	mkdir -p "$PEERS" && (cd "$PEERS" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
		npm install --save-exact --no-audit --no-fund --ignore-scripts "$PLAYWRIGHT" >/dev/null) ||
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
	[ "${2:-}" = all ] && { install_playwright || exit 1; }
	;;
*)
	echo "usage: deps.sh check|install [all]" >&2; exit 2 ;;
esac
