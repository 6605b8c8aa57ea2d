#!/bin/sh
# The stand-in postgres image's entrypoint (Containerfile beside it). On an empty data directory: initdb with
# POSTGRES_USER as the superuser and POSTGRES_PASSWORD as its password, then POSTGRES_DB; connections from other
# containers need that password (scram-sha-256), local ones do not (as in the official image). Then PostgreSQL,
# as user postgres, as PID 1.
set -eu

: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
user=${POSTGRES_USER:-postgres}
database=${POSTGRES_DB:-$user}

as_postgres() {
    setpriv --reuid=postgres --regid=postgres --init-groups "$@"
}

install -d -o postgres -g postgres -m 0700 "$PGDATA"
install -d -o postgres -g postgres -m 2775 /run/postgresql

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    password_file=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$password_file"
    chown postgres "$password_file"
    as_postgres initdb --username="$user" --pwfile="$password_file" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8
    rm -f "$password_file"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$database" != postgres ]; then
        # Single-user mode: no server listens before the database exists.
        printf 'CREATE DATABASE "%s" OWNER "%s"\n' "$database" "$user" | as_postgres postgres --single -D "$PGDATA" postgres >/dev/null
    fi
    echo "postgres-entrypoint: initialised $PGDATA (user $user, database $database)"
fi

if [ "$1" = postgres ]; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"
fi
exec "$@"
