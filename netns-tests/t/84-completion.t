#!/usr/bin/env bash
# The bash completion (scripts/bash-completion/vchan-tunctl), as bash would
# call it: vchan-tunctl's commands and options, every long option that each
# program's --help lists and no other, the values of --role and --mode, and
# the link names, from a configuration directory and from a daemon's
# status --json (a stand-in vchan-tunctl here: t/70-link.t asks a real one).
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck source=SCRIPTDIR/../../scripts/bash-completion/vchan-tunctl
. "$TOP/scripts/bash-completion/vchan-tunctl"
PATH="$BUILD/bin:$PATH"

# complete WORD...: what the completion offers after the command line WORD...
# (its last word the one being completed), sorted, one a line.
complete_line() {
	local fn
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	fn=$(complete -p "$1" | sed -E 's/.* -F ([^ ]+) .*/\1/')
	"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
}
lines() { printf '%s\n' "$@" | LC_ALL=C sort; }

for p in vchan-tund vchan-tunctl vchan-tun-watch vchan-cat; do
	like "$(complete -p "$p" 2>&1)" "^complete -F _[a-z_]+ $p\$" "a completion function for $p"
done

# --- vchan-tunctl --------------------------------------------------------------------------

is "$(complete_line vchan-tunctl '')" "$(lines reload status)" "vchan-tunctl: its commands"
is "$(complete_line vchan-tunctl st)" "status" "vchan-tunctl st: status"
is "$(complete_line vchan-tunctl --control /run/x.sock r)" "reload" "after --control PATH too"
is "$(complete_line vchan-tunctl status --)" "$(lines --control --json)" \
	"vchan-tunctl status --: the options that go with status"
is "$(complete_line vchan-tunctl reload --)" "--control" "vchan-tunctl reload --: --control"

# --- every long option of --help, and no other -------------------------------------------

# help_options PROGRAM: the long options its --help names, sorted.
help_options() {
	"$BUILD/bin/$1" --help | grep -oE -- '--[a-z][a-z-]*' | LC_ALL=C sort -u
}
for p in vchan-tund vchan-tunctl vchan-tun-watch vchan-cat; do
	is "$(complete_line "$p" --)" "$(help_options "$p")" "$p --: the long options of its --help"
done

is "$(complete_line vchan-tund --role '')" "$(lines client server)" "vchan-tund --role: server, client"
is "$(complete_line vchan-tund --mode t)" "$(lines tap tun)" "vchan-tund --mode: tun, tap"
is "$(complete_line vchan-tund --peer '')" "" "vchan-tund --peer: nothing to guess"
is "$(complete_line vchan-cat --read-order 2)" "20" "vchan-cat --read-order 2: 20 (10..20)"

# --- link names --------------------------------------------------------------------------

mkdir -p "$WORK/conf/sub.conf"
touch "$WORK/conf/guest5.conf" "$WORK/conf/router.conf" "$WORK/conf/example.conf.sample"
# a vchan-tunctl that answers status --json as a daemon with links "guest5"
# (also configured) and "cli", whose peer is named "peer-x", would
mkdir "$WORK/stub"
cat >"$WORK/stub/vchan-tunctl" <<'EOF'
#!/bin/sh
[ "$1 $2 $3 $4" = "--control $STUB_SOCK status --json" ] || exit 1
echo '{"version":"0.9.0","domid":0,"links":[{"name":"guest5","interface":"vchan5","peer":{"name":null,"domid":5}},{"name":"cli","interface":"vchan7","peer":{"name":"peer-x","domid":null}}]}'
EOF
chmod +x "$WORK/stub/vchan-tunctl"
export STUB_SOCK="$WORK/ctl.sock"
links=$(PATH="$WORK/stub:$PATH" _VCHAN_TUN_CONFIG_DIR="$WORK/conf" _vchan_tun_links "$STUB_SOCK" |
	LC_ALL=C sort -u)
is "$links" "$(lines cli guest5 router)" \
	"the link names: NAME of each NAME.conf file, and each link of the daemon (not its peer's name)"
is "$(_VCHAN_TUN_CONFIG_DIR="$WORK/none" _vchan_tun_links "$WORK/no.sock")" "" \
	"none, and no error, without a configuration directory or a daemon"

done_testing
