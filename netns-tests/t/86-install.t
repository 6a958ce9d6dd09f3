#!/usr/bin/env bash
# make install and make uninstall, into a DESTDIR: the expected files with
# the expected modes and nothing else (the bash completion among them), the programs of BUILD, units that
# name the installed programs (for any PREFIX) and that systemd-analyze
# verify accepts, installed hooks that find each other, a changed hook that
# neither install nor uninstall touches, and an uninstall that leaves only
# the empty directories and the administrator's configuration.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

ROOT="$WORK/root"
REL_BUILD=${BUILD#"$TOP"/}
SAN=
case "$BUILD" in *-san) SAN=1 ;; esac

# inst TARGET [VAR=VALUE...]: make TARGET from the top directory, for BUILD,
# as a user would type it (not as a sub-make of make check).
inst() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make --no-print-directory -s -C "$TOP" B="$REL_BUILD" ${SAN:+SAN=1} "$@"
}

files() { # files DIR: "MODE PATH" of every file under DIR, sorted
	(cd "$1" && find . ! -type d -printf '%m %P\n' | sort -k2)
}

watch=false
[ -e "$TOP/src/watch.c" ] && watch=true
expected=$(
	{
		echo "644 etc/vchan-tun/example.conf.sample"
		for h in vchan-tun-bridge vchan-tun-hook vchan-tun-route; do
			echo "755 etc/vchan-tun/hooks/$h"
		done
		echo "644 etc/vchan-tun/hooks/vchan-tun-hook-common.sh"
		echo "755 usr/bin/vchan-cat"
		echo "644 usr/lib/systemd/system/vchan-tund.service"
		echo "755 usr/sbin/vchan-tunctl"
		echo "755 usr/sbin/vchan-tund"
		echo "644 usr/share/bash-completion/completions/vchan-tunctl"
		for p in vchan-cat vchan-tun-watch vchan-tund; do
			echo "777 usr/share/bash-completion/completions/$p"
		done
		echo "644 usr/share/man/man1/vchan-cat.1"
		echo "644 usr/share/man/man5/vchan-tun.conf.5"
		for m in vchan-tun-hook vchan-tunctl vchan-tund; do
			echo "644 usr/share/man/man8/$m.8"
		done
		if $watch; then
			echo "644 usr/lib/systemd/system/vchan-tun-watch.service"
			echo "755 usr/sbin/vchan-tun-watch"
		fi
		[ -e "$TOP/docs/vchan-tun-watch.8" ] && echo "644 usr/share/man/man8/vchan-tun-watch.8"
	} | sort -k2
)
$watch || diag "src/watch.c is not there yet: installing without vchan-tun-watch"

# --- install ------------------------------------------------------------------------

out=$(inst install DESTDIR="$ROOT" PREFIX=/usr 2>&1)
ok $? "make install DESTDIR=... PREFIX=/usr exits 0" || diag "$out"
is "$(files "$ROOT")" "$expected" "it installs these files with these modes, and nothing else"
for p in vchan-tund vchan-tunctl; do
	cmp -s "$BUILD/bin/$p" "$ROOT/usr/sbin/$p"
	ok $? "usr/sbin/$p is $REL_BUILD/bin/$p"
done
cmp -s "$BUILD/bin/vchan-cat" "$ROOT/usr/bin/vchan-cat"
ok $? "usr/bin/vchan-cat is $REL_BUILD/bin/vchan-cat"

unit="$ROOT/usr/lib/systemd/system/vchan-tund.service"
like "$(grep '^Exec' "$unit")" '^ExecStart=/usr/sbin/vchan-tund
ExecReload=/usr/sbin/vchan-tunctl reload$' "the daemon's unit runs /usr/sbin/vchan-tund, reloads with vchan-tunctl"
if $watch; then
	like "$(grep '^ExecStart' "$ROOT/usr/lib/systemd/system/vchan-tun-watch.service")" \
		'^ExecStart=/usr/sbin/vchan-tun-watch$' "the watcher's unit runs /usr/sbin/vchan-tun-watch"
fi
is "$(grep -l '@[A-Z_]*@' "$ROOT"/usr/lib/systemd/system/*)" "" "no @VARIABLE@ is left in a unit"

is "$(readlink "$ROOT/usr/share/bash-completion/completions/vchan-tund")" "vchan-tunctl" \
	"the completion of each program is a link to vchan-tunctl's"

# The installed default hook finds its siblings where they were installed: a
# bad network makes the route hook fail before it runs ip.
out=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin VCHAN_TUN_LINK=t86 VCHAN_TUN_INTERFACE=vchan1 \
	VCHAN_TUN_MODE=tun VCHAN_TUN_ROUTES=10.86.0.0/40 \
	"$ROOT/etc/vchan-tun/hooks/vchan-tun-hook" up 2>&1)
like "$out" "^vchan-tun-route: t86: error: route '10\.86\.0\.0/40'" \
	"the installed default hook runs the installed route hook"

# --- systemd-analyze verify ------------------------------------------------------------

# verify checks the programs and man pages a unit names, and loads the units
# it depends on: under --root, in a copy of the tree with the host's units.
verify_units() { # verify_units yes|no: with or without checking the man pages
	local vroot="$WORK/verify" units man=$1
	cp -a "$ROOT" "$vroot"
	mkdir -p "$vroot/lib/systemd" "$vroot/bin"
	cp -a /lib/systemd/system "$vroot/lib/systemd/"
	# and the system's programs the units run: kill, for the watcher's reload
	cp /bin/kill "$vroot/bin/"
	units=$(cd "$ROOT/usr/lib/systemd/system" && ls)
	# shellcheck disable=SC2086 # the unit names, one word each
	(cd "$WORK" && MANPATH="$vroot/usr/share/man" \
		systemd-analyze verify --man="$man" --root="$vroot" $units 2>&1)
}

if ! command -v systemd-analyze >/dev/null; then
	skip_reason="systemd-analyze is not installed (scripts/install-deps installs systemd)"
elif ! systemd-analyze verify --man=no /lib/systemd/system/systemd-journald.service >/dev/null 2>&1; then
	skip_reason="systemd-analyze cannot verify even systemd-journald.service in this sandbox"
else
	skip_reason=
fi
if [ -n "$skip_reason" ]; then
	echo "ok $((T_RUN += 1)) # SKIP systemd-analyze verify: $skip_reason"
else
	# scripts/install-deps installs man-db for make check; without it, verify
	# cannot open the pages the units name, and says so about the machine,
	# not about the units
	man=yes
	if ! command -v man >/dev/null; then
		man=no
		diag "no man(1) here: verify does not check the units' man pages"
	fi
	out=$(verify_units "$man")
	rc=$?
	ok "$rc" "systemd-analyze verify accepts the installed units (exit status $rc)" || diag "$out"
	is "$out" "" "and has nothing to say about them"
fi

# --- how exposed the units leave the programs ------------------------------------------------

# systemd-analyze security rates a unit's sandbox from 0 (all closed) to 10;
# 1.6 is what is left after everything the programs do not need is closed.
if ! systemd-analyze security --offline=yes --help >/dev/null 2>&1; then
	echo "ok $((T_RUN += 1)) # SKIP systemd-analyze security --offline: not in this systemd"
else
	for u in vchan-tund vchan-tun-watch; do
		[ -e "$ROOT/usr/lib/systemd/system/$u.service" ] || continue
		level=$(cd "$WORK" && systemd-analyze security --offline=yes \
			"$ROOT/usr/lib/systemd/system/$u.service" 2>&1 |
			sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		ok "$(awk -v l="${level:-99}" 'BEGIN { print !(l <= 1.6) }')" \
			"systemd-analyze security rates $u.service ${level:-?} (at most 1.6)"
	done
fi

# --- another PREFIX, another unit directory ------------------------------------------------

out=$(inst install DESTDIR="$WORK/opt" PREFIX=/opt/vt SYSTEMD_UNIT_DIR=/etc/systemd/system 2>&1)
ok $? "make install PREFIX=/opt/vt SYSTEMD_UNIT_DIR=/etc/systemd/system exits 0" || diag "$out"
ok "$([ -x "$WORK/opt/opt/vt/sbin/vchan-tund" ]; echo $?)" "the daemon goes to PREFIX/sbin"
like "$(grep '^ExecStart' "$WORK/opt/etc/systemd/system/vchan-tund.service" 2>&1)" \
	'^ExecStart=/opt/vt/sbin/vchan-tund$' "the unit goes to SYSTEMD_UNIT_DIR and runs PREFIX/sbin/vchan-tund"
inst uninstall DESTDIR="$WORK/opt" PREFIX=/opt/vt SYSTEMD_UNIT_DIR=/etc/systemd/system >/dev/null 2>&1
is "$(files "$WORK/opt")" "" "make uninstall with the same variables removes every file"

# --- the administrator's files ------------------------------------------------------------

printf '#!/bin/sh\n# mine\n' >"$ROOT/etc/vchan-tun/hooks/vchan-tun-route"
printf '[Link]\nPeer = 5\nRole = client\n' >"$ROOT/etc/vchan-tun/guest5.conf"
out=$(inst install DESTDIR="$ROOT" PREFIX=/usr 2>&1)
ok $? "make install over an installed tree exits 0" || diag "$out"
like "$out" "keeping $ROOT/etc/vchan-tun/hooks/vchan-tun-route: it is not the one we ship" \
	"and says that it keeps a changed hook"
is "$(sed -n 2p "$ROOT/etc/vchan-tun/hooks/vchan-tun-route")" "# mine" "which it does not replace"

# --- uninstall ---------------------------------------------------------------------------------

out=$(inst uninstall DESTDIR="$ROOT" PREFIX=/usr 2>&1)
ok $? "make uninstall exits 0" || diag "$out"
is "$(files "$ROOT" | sort)" "$(printf '644 etc/vchan-tun/guest5.conf\n755 etc/vchan-tun/hooks/vchan-tun-route' | sort)" \
	"it removes every file it installed, not the changed hook nor a .conf"
ok "$([ -d "$ROOT/usr/sbin" ] && [ -d "$ROOT/usr/share/man/man8" ]; echo $?)" \
	"and leaves the directories"

done_testing
