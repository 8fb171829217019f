#!/bin/sh
# Makes sure nats-server is installed: the @phoenix-ipc/nats tests, its demo
# (pnpm demo:nats) and benchmark rows start their own nats-server.
#   - already there (NATS_SERVER_BIN, PATH, /usr/sbin, /usr/local/sbin, /opt/homebrew/bin): says where, does nothing;
#   - Debian/Ubuntu: apt-get install nats-server (through sudo unless root);
#   - macOS: brew install nats-server;
#   - elsewhere: prints what to install and exits 0, so that the rest of the
#     set-up (install, build, demo) goes on; the NATS tests then fail saying
#     how to install it.
# Exits non-zero only when an install it tried failed.
set -u

found() {
  if [ -n "${NATS_SERVER_BIN:-}" ] && [ -x "$NATS_SERVER_BIN" ]; then echo "$NATS_SERVER_BIN"; return 0; fi
  if command -v nats-server >/dev/null 2>&1; then command -v nats-server; return 0; fi
  for dir in /usr/sbin /usr/local/sbin /usr/local/bin /opt/homebrew/bin; do
    if [ -x "$dir/nats-server" ]; then echo "$dir/nats-server"; return 0; fi
  done
  return 1
}

RELEASES=https://github.com/nats-io/nats-server/releases

if path=$(found); then
  echo "nats-server: $path ($("$path" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then sudo=''; elif command -v sudo >/dev/null 2>&1; then sudo=sudo; else
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

if path=$(found); then
  echo "nats-server: $path ($("$path" --version 2>/dev/null || echo 'version unknown'))"
else
  echo "nats-server was installed but is not on PATH; set NATS_SERVER_BIN" >&2
  exit 1
fi
