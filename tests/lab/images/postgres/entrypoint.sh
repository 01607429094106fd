#!/bin/sh
# The official image's contract, in short: initdb on an empty data dir with POSTGRES_USER/PASSWORD/DB,
# then run as the postgres user listening on every address.
set -e
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /run/postgresql && chown postgres:postgres "$PGDATA" /run/postgresql && chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
  pw=$(mktemp); printf '%s\n' "$POSTGRES_PASSWORD" > "$pw"; chown postgres "$pw"
  as_pg initdb -U "${POSTGRES_USER:-postgres}" --pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pw"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != "${POSTGRES_USER:-postgres}" ]; then
    as_pg pg_ctl -w start -o "-c listen_addresses=''" >/dev/null
    as_pg psql -U "${POSTGRES_USER:-postgres}" -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
    as_pg pg_ctl -w stop >/dev/null
  fi
fi
if [ "$1" = postgres ]; then shift; exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -c listen_addresses='*' "$@"; fi
exec "$@"
