#!/usr/bin/env bash
# make deb, in a scratch copy of the tree (dpkg-buildpackage writes beside the
# source directory, debhelper into debian/: never in the tree itself): the
# package it builds and what is in it (the programs, the man pages, the units
# and their enabling, the hooks and the example as conffiles, the bash
# completion, and nothing of xensim or the tests), the version of
# debian/changelog in the package and in --version, the packaged programs run
# from an unpacked copy (--check-config on the example), the hardening of its
# binaries (PIE, stack protector, fortify, relro, bind now), lintian without
# errors, and a make clean after which the copy is as it was. Nothing is
# installed on this system.
#
# The package build does not use BUILD: debian/rules builds the programs
# itself, with dpkg-buildflags, into the copy's debian/build. So one run is
# enough, the one with a plain build directory; with a *-san one this test
# skips (as t/52-fuzz.t does).
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

case "$BUILD" in
*-san) skip_all "the package is built by debian/rules, not from $(basename "$BUILD"): it is tested with build/" ;;
esac
for c in dpkg-buildpackage dh dpkg-deb readelf git lintian; do
	command -v "$c" >/dev/null ||
		skip_all "no $c here (scripts/install-deps check installs the packaging tools)"
done

# The version, from debian/changelog, as the Makefile reads it.
VERSION=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$TOP/debian/changelog")
ARCH=$(dpkg --print-architecture)

# deb_tree DIR: a copy of the source tree as it is now, in DIR: git's files,
# tracked and untracked but not ignored (no build/, no package left over).
deb_tree() {
	mkdir -p "$1"
	git -C "$TOP" ls-files -z -c -o --exclude-standard |
		(cd "$TOP" && while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) |
		tar -C "$TOP" --null -T - -cf - | tar -C "$1" -xf -
}

# in_tree DIR CMD...: CMD in DIR, without the make variables of a make check
# around this test, and with no terminal (dpkg asks nothing).
in_tree() {
	local dir=$1
	shift
	(cd "$dir" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$@" </dev/null)
}

# tree_files DIR: every file under DIR, sorted (for "nothing was left behind").
tree_files() {
	(cd "$1" && find . ! -type d | LC_ALL=C sort)
}

SRC="$WORK/pkg/vchan-tun"
deb_tree "$SRC"
before=$(tree_files "$SRC")

# --- make deb ------------------------------------------------------------------------------

out=$(in_tree "$SRC" make deb 2>&1)
ok $? "make deb exits 0" || { diag "$(tail -n 40 <<<"$out")"; done_testing; }
DEB="$SRC/build/vchan-tun_${VERSION}_$ARCH.deb"
is "$(cd "$SRC/build" && find . -maxdepth 1 -name "vchan-tun*_${VERSION}_*" -printf '%P\n' | LC_ALL=C sort)" \
	"$(printf '%s\n' "vchan-tun-dbgsym_${VERSION}_$ARCH.deb" "vchan-tun_${VERSION}_$ARCH.buildinfo" \
		"vchan-tun_${VERSION}_$ARCH.changes" "vchan-tun_${VERSION}_$ARCH.deb")" \
	"it leaves the package, its -dbgsym, .buildinfo and .changes in build/"
is "$(ls -A "$WORK/pkg")" "vchan-tun" "and nothing beside the source directory"
like "$out" "dh_auto_build -- B=debian/build programs" "debian/rules builds the programs alone"
if grep -Eq -- '-o debian/build/(xensim|tools|fuzz|tests)/|xensim/.*\.c' <<<"$out"; then
	fail "and nothing of xensim, the test tools, the unit tests or the fuzzers"
	diag "$(grep -E 'xensim|tools/|fuzz|tests/' <<<"$out" | head -n 5)"
else
	pass "and nothing of xensim, the test tools, the unit tests or the fuzzers"
fi

# --- what the package says and holds --------------------------------------------------------

is "$(dpkg-deb -f "$DEB" Package Version Architecture)" \
	"$(printf 'Package: vchan-tun\nVersion: %s\nArchitecture: %s' "$VERSION" "$ARCH")" \
	"vchan-tun $VERSION (debian/changelog's version) for $ARCH"
depends=$(dpkg-deb -f "$DEB" Depends)
like "$depends" '(^|, )iproute2(,|$)' "it depends on iproute2 (the hooks run ip)"
like "$depends" 'libxenevtchn1.*libxengnttab1.*libxenstore4' "and on Debian's Xen libraries (shlibs)"

# "MODE PATH" of every file, "PATH -> TARGET" of every link
contents() {
	dpkg-deb -c "$DEB" | awk '
		$1 ~ /^d/ { next }
		{ path = $6; sub(/^\.\//, "", path) }
		$1 ~ /^l/ { print path " -> " $8; next }
		{ mode = 0; for (i = 2; i <= 10; i++) mode = mode * 2 + (substr($1, i, 1) != "-")
		  printf "%o %s\n", mode, path }' | LC_ALL=C sort -k2
}
expected=$(
	{
		echo "644 etc/vchan-tun/example.conf.sample"
		for h in vchan-tun-bridge vchan-tun-hook vchan-tun-route; do
			echo "755 etc/vchan-tun/hooks/$h"
		done
		echo "644 etc/vchan-tun/hooks/vchan-tun-hook-common.sh"
		for u in vchan-tund vchan-tun-watch; do echo "644 lib/systemd/system/$u.service"; done
		echo "755 usr/bin/vchan-cat"
		for p in vchan-tund vchan-tunctl vchan-tun-watch; do echo "755 usr/sbin/$p"; done
		echo "644 usr/share/bash-completion/completions/vchan-tunctl"
		for p in vchan-tund vchan-tun-watch vchan-cat; do
			echo "usr/share/bash-completion/completions/$p -> vchan-tunctl"
		done
		echo "644 usr/share/doc/vchan-tun/changelog.gz"
		echo "644 usr/share/doc/vchan-tun/copyright"
		for m in "$TOP"/docs/*.[158]; do
			m=${m##*/}
			echo "644 usr/share/man/man${m##*.}/$m.gz"
		done
	} | LC_ALL=C sort -k2
)
is "$(contents | sed 's/^\(usr[^ ]*\) -> /\1 -> /')" "$(sort -k2 <<<"$expected" | LC_ALL=C sort -k2)" \
	"it holds these files with these modes, and nothing else"
is "$(dpkg-deb -c "$DEB" | grep -Ei 'xensim|libxen|/tools/|fuzz|test')" "" "no xensim, no test tool"

is "$(dpkg-deb -I "$DEB" conffiles)" "$(printf '%s\n' /etc/vchan-tun/example.conf.sample \
	/etc/vchan-tun/hooks/vchan-tun-bridge /etc/vchan-tun/hooks/vchan-tun-hook \
	/etc/vchan-tun/hooks/vchan-tun-hook-common.sh /etc/vchan-tun/hooks/vchan-tun-route)" \
	"the hooks and the example are conffiles"

dpkg-deb -e "$DEB" "$WORK/control"
dpkg-deb -x "$DEB" "$WORK/x"
for u in vchan-tund vchan-tun-watch; do
	grep -q "deb-systemd-helper enable '$u.service'" "$WORK/control/postinst"
	ok $? "postinst enables $u.service (dh_installsystemd)"
done
like "$(grep 'deb-systemd-invoke' "$WORK/control/postinst")" "vchan-tun-watch.service.*vchan-tund.service" \
	"and starts (restarts on upgrade) both"
like "$(grep -h '^ExecStart=' "$WORK"/x/lib/systemd/system/*.service)" \
	'^ExecStart=/usr/sbin/vchan-tun-watch
ExecStart=/usr/sbin/vchan-tund$' "the units run /usr/sbin's programs"

# --- hardening ---------------------------------------------------------------------------------

# What dpkg-buildflags gives with hardening=+all, read from each ELF file.
for p in usr/sbin/vchan-tund usr/sbin/vchan-tunctl usr/sbin/vchan-tun-watch usr/bin/vchan-cat; do
	f="$WORK/x/$p"
	elf=$(readelf -W -h -l -d --dyn-syms "$f" 2>&1)
	missing=
	grep -Eq 'Type: +DYN' <<<"$elf" || missing+=" PIE"
	grep -q 'GNU_RELRO' <<<"$elf" || missing+=" relro"
	grep -Eq 'FLAGS.*BIND_NOW|FLAGS_1.*NOW' <<<"$elf" || missing+=" bind-now"
	grep -q '__stack_chk_fail' <<<"$elf" || missing+=" stack-protector"
	grep -Eq '__[a-z_]+_chk(@|$)' <<<"$elf" || missing+=" fortify"
	is "${missing# }" "" "${p##*/}: PIE, relro, bind now, stack protector, fortified calls"
done
if command -v hardening-check >/dev/null; then
	# Control flow protection (-fcf-protection) is not among Debian 12's flags.
	out=$(hardening-check --nocfprotection "$WORK"/x/usr/sbin/* "$WORK"/x/usr/bin/* 2>&1)
	ok $? "hardening-check agrees (all but control flow protection, which Debian 12 does not set)" ||
		diag "$out"
else
	diag "no hardening-check (devscripts): the ELF checks above stand alone"
fi

# --- the packaged programs, run from an unpacked copy -----------------------------------------

for p in usr/sbin/vchan-tund usr/sbin/vchan-tunctl usr/sbin/vchan-tun-watch usr/bin/vchan-cat; do
	is "$("$WORK/x/$p" --version 2>&1)" "${p##*/} $VERSION" "${p##*/} --version says debian/changelog's $VERSION"
done
# The example, as the administrator would start from it: a copy named *.conf.
mkdir "$WORK/conf"
cp "$WORK/x/etc/vchan-tun/example.conf.sample" "$WORK/conf/example.conf"
out=$("$WORK/x/usr/sbin/vchan-tund" --config-dir "$WORK/conf" --check-config 2>&1)
ok $? "vchan-tund --check-config accepts the packaged example" || diag "$out"
like "$out" "example" "and lists its link"

# --- lintian ---------------------------------------------------------------------------------

# Errors fail; warnings and the rest are shown (the README's "Installing"
# lists what is left and why).
lint=$(lintian --allow-root --display-info --pedantic "$DEB" 2>&1)
is "$(grep '^E: ' <<<"$lint")" "" "lintian reports no error"
[ -z "$lint" ] || diag "lintian: $lint"

# --- nothing left behind ----------------------------------------------------------------------

out=$(in_tree "$SRC" make clean 2>&1)
ok $? "make clean exits 0" || diag "$out"
is "$(tree_files "$SRC")" "$before" "after it the copy holds what it held before make deb"

done_testing
