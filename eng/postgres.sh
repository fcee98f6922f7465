#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests, benchmarks and samples of TaskDispatch.PostgreSql.
#
#   eng/postgres.sh start [dir]   initdb a fresh cluster in dir (default ${TMPDIR:-/tmp}/taskdispatch-pg; any cluster
#                                 already there is stopped and deleted first) and start it on 127.0.0.1 only, port
#                                 ${TASKDISPATCH_PG_PORT:-54329}, user postgres, trust authentication (no password).
#                                 Prints one line to stdout, the connection string as a shell command:
#                                   export TASKDISPATCH_POSTGRES='Host=127.0.0.1;Port=54329;Username=postgres;Database=postgres'
#                                 Everything else (progress, errors, the server log's tail on failure) goes to stderr.
#   eng/postgres.sh stop [dir]    stop the server (fast shutdown; fine if it is not running) and delete dir.
#   eng/postgres.sh status [dir]  say whether a server runs on dir; exit 0 if it does, 3 if not.
#
# A developer runs the PostgreSQL tests with:
#   eval "$(eng/postgres.sh start)"
#   dotnet test -c Release
#   eng/postgres.sh stop
#
# The PostgreSQL binaries are pg_ctl and initdb from PATH, else the newest /usr/lib/postgresql/*/bin; when there are
# none, Debian's postgresql package is installed (apt-get, through sudo when not root). initdb and pg_ctl refuse to
# run as root, so as root they run as the postgres user (created if missing), and dir must be reachable by that user
# (the default, under /tmp, is). The socket and the server log (postgres.log) are in dir. Durability is as in
# production (fsync=on, synchronous_commit=on), so timings measured against this server are honest; only initdb
# skips its own fsyncs (--no-sync), the cluster being throw-away.
set -euo pipefail

port=${TASKDISPATCH_PG_PORT:-54329}
bindir=
as_root=false
[ "$(id -u)" -eq 0 ] && as_root=true

die() { echo "postgres.sh: $*" >&2; exit 1; }
say() { echo "postgres.sh: $*" >&2; }

usage() {
  echo "usage: $0 start|stop|status [dir]" >&2
  exit 2
}

# Finds pg_ctl and initdb (one directory, so both are of the same version) and sets bindir.
find_binaries() {
  local pg_ctl candidate
  if pg_ctl=$(command -v pg_ctl) && command -v initdb >/dev/null; then
    bindir=$(dirname "$(readlink -f "$pg_ctl")")
    [ -x "$bindir/initdb" ] && return 0
    bindir=$(dirname "$(readlink -f "$(command -v initdb)")")
    [ -x "$bindir/pg_ctl" ] && return 0
  fi
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/initdb" ]; then
      bindir=$candidate
      return 0
    fi
  done
  return 1
}

ensure_binaries() {
  find_binaries && return 0
  say "no PostgreSQL binaries (pg_ctl, initdb) found; installing Debian's postgresql package"
  command -v apt-get >/dev/null || die "apt-get not found: install PostgreSQL (pg_ctl, initdb) yourself"
  local sudo=()
  if ! $as_root; then
    command -v sudo >/dev/null || die "not root and no sudo: install PostgreSQL (pg_ctl, initdb) yourself"
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  find_binaries || die "postgresql was installed but pg_ctl and initdb are still not found"
}

# Runs a PostgreSQL binary: directly, or as the postgres user when we are root (from /, which that user can read).
pg() {
  local tool=$1
  shift
  if $as_root; then
    (cd / && runuser -u postgres -- "$bindir/$tool" "$@")
  else
    "$bindir/$tool" "$@"
  fi
}

# A directory this script may delete: absent, empty, or a PostgreSQL data directory.
check_deletable() {
  local dir=$1
  case "$dir" in
    / | "") die "refusing to use '$dir' as the data directory" ;;
  esac
  [ -e "$dir" ] || return 0
  [ -d "$dir" ] || die "$dir exists and is not a directory"
  [ -f "$dir/PG_VERSION" ] && return 0
  [ -z "$(ls -A "$dir")" ] && return 0
  die "$dir is neither empty nor a PostgreSQL data directory; refusing to delete it"
}

is_running() {
  local dir=$1
  [ -f "$dir/PG_VERSION" ] && [ -n "$bindir" ] && pg pg_ctl status -D "$dir" >/dev/null 2>&1
}

stop_server() {
  local dir=$1
  check_deletable "$dir"
  if [ -f "$dir/PG_VERSION" ] && [ -f "$dir/postmaster.pid" ] && find_binaries; then
    if is_running "$dir"; then
      say "stopping the server on $dir"
      pg pg_ctl stop -D "$dir" -m fast -w >&2 || true
      if is_running "$dir"; then
        say "the fast shutdown did not stop it; stopping it immediately"
        pg pg_ctl stop -D "$dir" -m immediate -w >&2 || true
      fi
      ! is_running "$dir" || die "could not stop the server on $dir"
    fi
  fi
  rm -rf "$dir"
}

start_server() {
  local dir=$1 conf quoted_dir initdb_output
  ensure_binaries
  stop_server "$dir"

  if $as_root && ! id -u postgres >/dev/null 2>&1; then
    say "creating the postgres user"
    useradd -r postgres
  fi
  mkdir -p "$dir"
  if $as_root; then
    chown postgres: "$dir"
    runuser -u postgres -- test -w "$dir" -a -x "$dir" \
      || die "the postgres user cannot write $dir (a parent directory closed to it?); pass a dir under /tmp"
  fi

  say "initdb $dir ($("$bindir/pg_ctl" --version))"
  initdb_output=$(pg initdb -D "$dir" --auth=trust --no-sync -U postgres --encoding=UTF8 --locale=C 2>&1) || {
    echo "$initdb_output" >&2
    die "initdb failed"
  }

  conf="$dir/postgresql.conf"
  quoted_dir=${dir//\'/\'\'}
  cat >>"$conf" <<EOF

# eng/postgres.sh: a throw-away server for the TaskDispatch tests, benchmarks and samples
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$quoted_dir'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
EOF

  say "starting the server on 127.0.0.1:$port (log: $dir/postgres.log)"
  if ! pg pg_ctl start -D "$dir" -l "$dir/postgres.log" -w -t 60 >&2; then
    [ -f "$dir/postgres.log" ] && tail -n 30 "$dir/postgres.log" >&2
    die "the server did not start (port $port in use by another server?)"
  fi
}

command=${1:-}
dir=${2:-${TMPDIR:-/tmp}/taskdispatch-pg}
[ $# -le 2 ] || usage
dir=$(realpath -m -- "$dir")

# Only the connection string goes to stdout (fd 3); the work runs with fd 3 closed so that the server, which
# outlives this script, does not hold the stdout of eval "$(eng/postgres.sh start)" open.
exec 3>&1 1>&2
case "$command" in
  start)
    start_server "$dir" 3>&-
    echo "export TASKDISPATCH_POSTGRES='Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres'" >&3
    ;;
  stop)
    stop_server "$dir" 3>&-
    ;;
  status)
    if find_binaries && is_running "$dir"; then
      port_in_conf=$(sed -nE "s/^port = ([0-9]+)$/\1/p" "$dir/postgresql.conf" | tail -n 1)
      echo "running on 127.0.0.1:${port_in_conf:-?}, data directory $dir" >&3
    else
      echo "not running (data directory $dir)" >&3
      exit 3
    fi
    ;;
  *)
    usage
    ;;
esac
