#!/bin/sh
# install.sh: installs a built edged as a systemd service: the binary to
# /usr/local/sbin, the config to /etc/edged/edged.conf (only if absent; an
# empty admin_token gets a random one), /var/lib/edged and the unit.
# Idempotent; starts (or restarts) the service only with --start.
set -eu

usage() {
	cat <<EOF
usage: $0 [--binary PATH] [--root DIR] [--start]
  --binary PATH  the built edged (default: build/edged next to this repository)
  --root DIR     install under DIR instead of / (packaging, tests); implies no systemctl
  --start        enable and (re)start edged.service afterwards
EOF
	exit "$1"
}

here=$(cd "$(dirname "$0")" && pwd)
binary="$here/../build/edged"
root=""
start=no
while [ $# -gt 0 ]; do
	case "$1" in
	--binary) [ $# -ge 2 ] || usage 2; binary=$2; shift 2 ;;
	--root) [ $# -ge 2 ] || usage 2; root=${2%/}; shift 2 ;;
	--start) start=yes; shift ;;
	-h|--help) usage 0 ;;
	*) echo "install.sh: unknown argument '$1'" >&2; usage 2 ;;
	esac
done

say() { echo "install.sh: $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }

[ -x "$binary" ] || die "no executable edged at '$binary' (build it, or pass --binary)"
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
	die "run as root (or use --root DIR to stage the files)"
fi

sbin="$root/usr/local/sbin"
etc="$root/etc/edged"
conf="$etc/edged.conf"
state="$root/var/lib/edged"
unitdir="$root/etc/systemd/system"

# The binary: replaced every time (install unlinks first, so a running edged
# keeps its old inode).
install -d -m 0755 "$sbin"
install -m 0755 "$binary" "$sbin/edged"
say "installed $sbin/edged"

# The config: never overwritten, so the operator's edits survive upgrades.
install -d -m 0750 "$etc"
if [ -e "$conf" ]; then
	say "kept the existing $conf"
else
	install -m 0640 "$here/edged.conf" "$conf"
	say "installed $conf"
fi

# An empty admin_token (the shipped file has "admin_token =") gets a random
# 256-bit token, so the admin API is never open by default.
if grep -Eq '^[[:space:]]*admin_token[[:space:]]*=[[:space:]]*("")?[[:space:]]*$' "$conf"; then
	token=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
	[ ${#token} -eq 64 ] || die "cannot read 32 random bytes from /dev/urandom"
	tmp="$conf.tmp.$$"
	umask 077
	sed -E "s/^[[:space:]]*admin_token[[:space:]]*=.*\$/admin_token = \"$token\"/" "$conf" >"$tmp"
	chmod 0640 "$tmp"
	mv "$tmp" "$conf"
	say "generated an admin token into $conf (read it there; keep it secret)"
fi
chmod 0640 "$conf"

# The service user the supervisor and the broker drop to (edged.conf: user);
# it reads the config on reload and owns the data directory.
if ! getent passwd edged >/dev/null; then
	useradd --system --no-create-home --home-dir "$state" --shell /usr/sbin/nologin edged ||
		die "cannot create the system user 'edged'"
	say "created the system user 'edged'"
fi
chgrp edged "$conf"

# The data directory (systemd's StateDirectory= would create it too).
install -d -m 0750 -o edged -g edged "$state"

# The unit.
install -d -m 0755 "$unitdir"
install -m 0644 "$here/edged.service" "$unitdir/edged.service"
say "installed $unitdir/edged.service"

if [ -n "$root" ]; then
	say "staged under $root: no systemctl"
	exit 0
fi
if [ ! -d /run/systemd/system ]; then
	say "systemd is not running here: skipped daemon-reload"
	[ "$start" = no ] || die "--start needs systemd"
	exit 0
fi
systemctl daemon-reload
if [ "$start" = yes ]; then
	systemctl enable edged.service
	systemctl restart edged.service
	say "edged.service started; 'systemctl status edged' shows it"
else
	say "done; start it with: systemctl enable --now edged"
fi
