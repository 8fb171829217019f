#!/bin/sh
# Makes sure nats-server is installed and on PATH: the @phoenix-ipc/nats tests,
# its demo (pnpm demo:nats) and benchmark rows start their own nats-server,
# found through NATS_SERVER_BIN, else PATH.
#   - already there (NATS_SERVER_BIN, PATH): says where, does nothing;
#   - installed off PATH (Debian puts it in /usr/sbin, which a user's PATH may
#     lack): links it into /usr/local/bin (through sudo unless root);
#   - Debian/Ubuntu: apt-get install nats-server (through sudo unless root);
#   - macOS: brew install nats-server;
#   - elsewhere: prints what to install and exits 0, so that the rest of the
#     set-up (install, build, demo) goes on; the NATS tests then fail saying
#     how to install it.
# Exits non-zero only when an install or link it tried failed.
set -u

on_path() {
  if [ -n "${NATS_SERVER_BIN:-}" ] && [ -x "$NATS_SERVER_BIN" ]; then echo "$NATS_SERVER_BIN"; return 0; fi
  command -v nats-server 2>/dev/null
}

off_path() {
  for dir in /usr/sbin /usr/local/sbin /sbin /opt/homebrew/bin; do
    if [ -x "$dir/nats-server" ]; then echo "$dir/nats-server"; return 0; fi
  done
  return 1
}

if [ "$(id -u)" = 0 ]; then sudo=''; elif command -v sudo >/dev/null 2>&1; then sudo=sudo; else sudo=none; fi

# An installed nats-server off PATH, linked into /usr/local/bin (on everyone's PATH).
link_onto_path() {
  path=$(off_path) || return 1
  case ":$PATH:" in
    *:/usr/local/bin:*) ;;
    *) echo "nats-server is at $path, not on PATH: set NATS_SERVER_BIN=$path" >&2; return 1 ;;
  esac
  if [ "$sudo" = none ]; then echo "nats-server is at $path, not on PATH: set NATS_SERVER_BIN=$path" >&2; return 1; fi
  echo "nats-server is at $path, not on PATH: ${sudo:+sudo }ln -s $path /usr/local/bin/nats-server"
  $sudo mkdir -p /usr/local/bin && $sudo ln -sf "$path" /usr/local/bin/nats-server
}

report() {
  echo "nats-server: $1 ($("$1" --version 2>/dev/null || echo 'version unknown'))"
}

RELEASES=https://github.com/nats-io/nats-server/releases

if path=$(on_path); then
  report "$path"
  exit 0
fi
if off_path >/dev/null; then
  link_onto_path || exit 1
  report "$(on_path)"
  exit 0
fi

if command -v apt-get >/dev/null 2>&1; then
  if [ "$sudo" = none ]; then
    echo "nats-server is missing; install it as root: apt-get update && apt-get install -y nats-server" >&2
    exit 1
  fi
  echo "installing nats-server: ${sudo:+sudo }apt-get install -y nats-server"
  if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq nats-server; }; then
    echo "apt-get could not install nats-server; get a release from $RELEASES and set NATS_SERVER_BIN" >&2
    exit 1
  fi
elif [ "$(uname -s)" = Darwin ] && command -v brew >/dev/null 2>&1; then
  echo "installing nats-server: brew install nats-server"
  brew install nats-server || exit 1
else
  echo "WARNING: nats-server is missing and this script knows no package manager here." >&2
  echo "Install nats-server 2.2 or later from $RELEASES (or your package manager), put it on PATH" >&2
  echo "or set NATS_SERVER_BIN; the @phoenix-ipc/nats tests need it." >&2
  exit 0
fi

if ! path=$(on_path); then
  link_onto_path || exit 1
  path=$(on_path) || { echo "nats-server was installed but is not on PATH; set NATS_SERVER_BIN" >&2; exit 1; }
fi
report "$path"
