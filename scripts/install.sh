#!/bin/sh
# Installs (or removes) edgemq as a systemd service. POSIX sh; safe to run again.
#
#   install.sh BINARY                 install BINARY as /usr/local/bin/edgemq, the example config
#                                     as /etc/edgemq/edgemq.yaml (only if absent) and the unit
#   install.sh --uninstall            remove binary and unit; keep config (if edited) and data
#   install.sh --uninstall --purge    also remove /etc/edgemq, /var/lib/edgemq, /var/log/edgemq
#
# DESTDIR=/some/root puts everything under that root (packaging, tests) and never touches
# systemctl; with DESTDIR empty and systemd running, the unit is enabled (not started).
set -eu

usage() {
  cat <<USAGE
Usage: install.sh BINARY
       install.sh --uninstall [--purge]

Environment: DESTDIR (default empty: the live system)
USAGE
}

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
DESTDIR=${DESTDIR:-}
BIN="$DESTDIR/usr/local/bin/edgemq"
CONF_DIR="$DESTDIR/etc/edgemq"
CONF="$CONF_DIR/edgemq.yaml"
UNIT_DIR="$DESTDIR/etc/systemd/system"
UNIT="$UNIT_DIR/edgemq.service"

mode=install
purge=no
binary=
while [ $# -gt 0 ]; do
  case $1 in
    --uninstall) mode=uninstall ;;
    --purge) purge=yes ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *)
      if [ -n "$binary" ]; then echo "install.sh: unexpected argument $1" >&2; exit 2; fi
      binary=$1 ;;
  esac
  shift
done
if [ "$purge" = yes ] && [ "$mode" != uninstall ]; then
  echo "install.sh: --purge goes with --uninstall" >&2; exit 2
fi

# The example config and the unit ship next to this script (release archive) or in the repo.
find_asset() {
  for f in "$here/$1" "$here/../$1"; do
    if [ -f "$f" ]; then echo "$f"; return 0; fi
  done
  echo "install.sh: cannot find $1 next to $0" >&2
  exit 1
}

systemd_live() {
  [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

say() { echo "install.sh: $*"; }

# Copies $1 to $2 with mode $3, via a temp file so a running binary is replaced, not rewritten.
put() {
  mkdir -p "$(dirname -- "$2")"
  cp -- "$1" "$2.tmp.$$"
  chmod "$3" "$2.tmp.$$"
  mv -f -- "$2.tmp.$$" "$2"
}

remove_empty_dir() {
  if [ -d "$1" ]; then rmdir -- "$1" 2>/dev/null || true; fi
}

if [ "$mode" = install ]; then
  if [ -z "$binary" ]; then usage >&2; exit 2; fi
  if [ ! -f "$binary" ]; then echo "install.sh: $binary: no such file" >&2; exit 1; fi
  example=$(find_asset edgemq.example.yaml)
  unit=$(find_asset scripts/edgemq.service 2>/dev/null || find_asset edgemq.service)

  put "$binary" "$BIN" 0755
  say "installed $BIN"
  if [ -e "$CONF" ]; then
    say "kept existing $CONF"
  else
    put "$example" "$CONF" 0644
    say "installed $CONF (from edgemq.example.yaml)"
  fi
  put "$unit" "$UNIT" 0644
  say "installed $UNIT"

  if systemd_live; then
    systemctl daemon-reload
    systemctl enable edgemq.service
    say "enabled edgemq.service; start it with: systemctl start edgemq"
  else
    say "systemd not running here (or DESTDIR set): not enabling the service"
  fi
  exit 0
fi

# --- uninstall ---------------------------------------------------------------------------------
if systemd_live; then
  systemctl disable --now edgemq.service 2>/dev/null || true
fi
rm -f -- "$UNIT" "$BIN"
say "removed $BIN and $UNIT"
if [ -f "$CONF" ]; then
  example=$(find_asset edgemq.example.yaml 2>/dev/null || true)
  if [ "$purge" = yes ] || { [ -n "$example" ] && cmp -s "$example" "$CONF"; }; then
    rm -f -- "$CONF"
    say "removed $CONF"
  else
    say "kept $CONF (edited; --purge removes it)"
  fi
fi
if [ "$purge" = yes ]; then
  rm -rf -- "$CONF_DIR" "$DESTDIR/var/lib/edgemq" "$DESTDIR/var/lib/private/edgemq" \
    "$DESTDIR/var/log/edgemq" "$DESTDIR/var/log/private/edgemq"
  say "purged config, data and logs"
else
  say "kept data in $DESTDIR/var/lib/edgemq (--purge removes it)"
fi
remove_empty_dir "$CONF_DIR"
if systemd_live; then systemctl daemon-reload; fi
exit 0
