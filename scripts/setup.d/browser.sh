# browser.sh: a headless browser for the report page test (tests/browser/).
#
# Sourced by scripts/setup.sh (or run with sh).  Installs Debian's
# `chromium` (/usr/bin/chromium); the test drives it through the DevTools
# protocol over a pipe with the machine's Node.js, so nothing comes from
# the npm registry.  Idempotent.  Without chromium or node the browser test
# is skipped, never failed, so a machine without them still builds.
strand_browser_setup() {
	strand_setup_install chromium fonts-dejavu-core || {
		echo "strand setup (browser): cannot install chromium; the report page test will be skipped" >&2
		return 0
	}
	if ! command -v node >/dev/null 2>&1; then
		strand_setup_install nodejs || echo "strand setup (browser): no node; the report page test will be skipped" >&2
	fi
	return 0
}
strand_browser_setup
