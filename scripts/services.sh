#!/usr/bin/env bash
# Throwaway database servers for Weber's tests and for `weberctl db revision`'s dev databases.
#
#   scripts/services.sh up      install if missing, start, wait until ready (idempotent)
#   scripts/services.sh down    stop the servers (data stays in memory until `clean` or reboot)
#   scripts/services.sh clean   stop the servers and delete their data directories
#   scripts/services.sh status  exit 0 if both servers answer, 1 otherwise (PgBouncer: reported only)
#   scripts/services.sh env     print the export lines, for: eval "$(scripts/services.sh env)"
#
# PostgreSQL 15 on 127.0.0.1:55432 and MariaDB on 127.0.0.1:53306, each with its data directory
# in memory (/dev/shm) and durability switched off: fast, and lost on reboot. Both have a
# superuser `weber` with password `weber` (password auth over TCP) and a database `weber`.
# They never touch a system server's port, socket or data directory. In front of that PostgreSQL,
# PgBouncer on 127.0.0.1:56432 in transaction pooling mode (the same weber/weber login; every
# database of the server under its own name), for the tests that go through a pooler.
#
# As root (CI) the servers run as the `postgres` and `mysql` OS users (PgBouncer as `postgres`), and missing Debian
# packages are installed with apt-get. As any other user they run as that user.
#
# Overridable: WEBER_SERVICES_DIR (default /dev/shm), WEBER_PG_PORT, WEBER_MYSQL_PORT,
# WEBER_PGBOUNCER_PORT, WEBER_SERVICES_TIMEOUT (seconds to wait for each server, default 60).
set -euo pipefail

BASE_DIR=${WEBER_SERVICES_DIR:-/dev/shm}
PG_PORT=${WEBER_PG_PORT:-55432}
MY_PORT=${WEBER_MYSQL_PORT:-53306}
PGB_PORT=${WEBER_PGBOUNCER_PORT:-56432}
TIMEOUT=${WEBER_SERVICES_TIMEOUT:-60}
PG_MAJOR=15

PG_DIR=$BASE_DIR/weber-pg
PG_DATA=$PG_DIR/data
PG_RUN=$PG_DIR/run
PG_LOG=$PG_DIR/postgres.log
MY_DIR=$BASE_DIR/weber-mysql
MY_DATA=$MY_DIR/data
MY_SOCK=$MY_DIR/mysqld.sock
MY_PID=$MY_DIR/mysqld.pid
MY_LOG=$MY_DIR/mysqld.log
PGB_DIR=$BASE_DIR/weber-pgbouncer
PGB_INI=$PGB_DIR/pgbouncer.ini
PGB_PID=$PGB_DIR/pgbouncer.pid
PGB_LOG=$PGB_DIR/pgbouncer.log

DB_USER=weber
DB_PASS=weber
DB_NAME=weber

PG_URL="postgres://$DB_USER:$DB_PASS@127.0.0.1:$PG_PORT/$DB_NAME?sslmode=disable"
MY_URL="mysql://$DB_USER:$DB_PASS@127.0.0.1:$MY_PORT/$DB_NAME"
PGB_URL="postgres://$DB_USER:$DB_PASS@127.0.0.1:$PGB_PORT/$DB_NAME?sslmode=disable"

log() { printf '[services %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[services %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

IS_ROOT=false
[[ $(id -u) -eq 0 ]] && IS_ROOT=true

# ---------------------------------------------------------------------------------------------
# Packages

APT_UPDATED=false
apt_install() {
	$IS_ROOT || die "missing packages: $*; install them (sudo apt-get install $*) or run as root"
	command -v apt-get >/dev/null || die "missing packages: $* (and no apt-get to install them)"
	export DEBIAN_FRONTEND=noninteractive
	# Wait for another apt/dpkg (e.g. a background install) instead of failing on its lock.
	local apt=(apt-get -y -q -o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confdef
		-o Dpkg::Options::=--force-confold)
	local pkg need_update=false
	for pkg in "$@"; do
		apt-cache show --no-all-versions "$pkg" >/dev/null 2>&1 || need_update=true
	done
	if $need_update && ! $APT_UPDATED; then
		log "apt-get update"
		"${apt[@]}" update >&2
		APT_UPDATED=true
	fi
	log "apt-get install $*"
	if ! "${apt[@]}" install --no-install-recommends "$@" >&2; then
		$APT_UPDATED && die "apt-get install $* failed"
		log "apt-get install failed; retrying after apt-get update"
		"${apt[@]}" update >&2
		APT_UPDATED=true
		"${apt[@]}" install --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
	fi
}

find_pg_bin() {
	PG_BIN=${WEBER_PG_BIN:-/usr/lib/postgresql/$PG_MAJOR/bin}
	[[ -x $PG_BIN/postgres && -x $PG_BIN/psql ]]
}

find_mariadb() {
	MY_SERVER=$(command -v mariadbd || command -v mysqld || true)
	[[ -z $MY_SERVER && -x /usr/sbin/mariadbd ]] && MY_SERVER=/usr/sbin/mariadbd
	MY_INSTALL_DB=$(command -v mariadb-install-db || command -v mysql_install_db || true)
	MY_CLIENT=$(command -v mariadb || command -v mysql || true)
	MY_ADMIN=$(command -v mariadb-admin || command -v mysqladmin || true)
	[[ -n $MY_SERVER && -n $MY_INSTALL_DB && -n $MY_CLIENT && -n $MY_ADMIN ]]
}

find_pgbouncer() {
	PGB_BIN=$(command -v pgbouncer || true)
	[[ -z $PGB_BIN && -x /usr/sbin/pgbouncer ]] && PGB_BIN=/usr/sbin/pgbouncer
	[[ -n $PGB_BIN ]]
}

ensure_packages() {
	local missing=()
	find_pg_bin || missing+=("postgresql-$PG_MAJOR")
	find_mariadb || missing+=(mariadb-server mariadb-client)
	# The databases' own clients: tests compare Weber's upgrade with them.
	command -v sqlite3 >/dev/null || missing+=(sqlite3)
	command -v psql >/dev/null || missing+=("postgresql-client-$PG_MAJOR")
	find_pgbouncer || missing+=(pgbouncer)
	if ((${#missing[@]})); then
		apt_install "${missing[@]}"
		find_pg_bin || die "PostgreSQL $PG_MAJOR binaries not found in $PG_BIN after install"
		find_mariadb || die "MariaDB binaries not found after installing mariadb-server"
		find_pgbouncer || die "pgbouncer not found after installing it"
	fi
}

# ---------------------------------------------------------------------------------------------
# Helpers

# as_user USER CMD...: run CMD as USER (only when root), from a directory USER can read.
as_user() {
	local user=$1
	shift
	if $IS_ROOT && [[ $user != root ]]; then
		(cd / && runuser -u "$user" -- "$@")
	else
		(cd / && "$@")
	fi
}

# wait_for NAME LOGFILE CMD...: retry CMD until it succeeds or TIMEOUT seconds pass.
wait_for() {
	local name=$1 logfile=$2
	shift 2
	local deadline=$((SECONDS + TIMEOUT))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			log "$name did not accept connections within ${TIMEOUT}s; last lines of $logfile:"
			tail -n 30 "$logfile" >&2 2>/dev/null || true
			die "$name failed to start"
		fi
		sleep 0.2
	done
}

# pid_alive PID: the process exists and is not a zombie (a killed server whose parent has not
# reaped it yet still answers kill -0).
pid_alive() {
	local pid=$1 state
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	# /proc/PID/stat: "pid (comm) STATE ..."; no dependency on procps.
	state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z ]]
}

port_in_use() {
	# bash's /dev/tcp: succeeds if something listens on 127.0.0.1:$1.
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

PG_OS_USER=$(id -un)
$IS_ROOT && PG_OS_USER=postgres

pg_running() {
	[[ -f $PG_DATA/postmaster.pid ]] && pid_alive "$(head -n 1 "$PG_DATA/postmaster.pid")"
}

# pg_tcp_ok: the weber role can log in over TCP with its password.
pg_tcp_ok() {
	PGPASSWORD=$DB_PASS PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -q -w -h 127.0.0.1 -p "$PG_PORT" \
		-U "$DB_USER" -d "$DB_NAME" -tAc 'select 1' >/dev/null 2>&1
}

pg_up() {
	if pg_running; then
		log "postgres: already running ($PG_DATA)"
	elif port_in_use "$PG_PORT"; then
		pg_tcp_ok || die "port $PG_PORT is taken by something that is not this script's PostgreSQL (or the weber role cannot log in); stop it or set WEBER_PG_PORT"
		log "postgres: a server on 127.0.0.1:$PG_PORT already accepts weber/weber; using it"
		return 0
	else
		pg_init
		log "postgres: starting on 127.0.0.1:$PG_PORT"
		as_user "$PG_OS_USER" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" start >/dev/null ||
			{ tail -n 30 "$PG_LOG" >&2 || true; die "postgres failed to start (log: $PG_LOG)"; }
	fi
	wait_for postgres "$PG_LOG" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2
	# Idempotent: make sure the role, its password and the database exist (over the socket,
	# where local auth is trust).
	local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_RUN" -p "$PG_PORT" -U "$DB_USER")
	as_user "$PG_OS_USER" "${psql[@]}" -d postgres \
		-c "ALTER ROLE $DB_USER WITH SUPERUSER LOGIN PASSWORD '$DB_PASS'" >/dev/null
	if [[ $(as_user "$PG_OS_USER" "${psql[@]}" -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'") != 1 ]]; then
		as_user "$PG_OS_USER" "${psql[@]}" -d postgres -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >/dev/null
	fi
	pg_tcp_ok || die "postgres is up but weber/weber cannot log in over TCP to 127.0.0.1:$PG_PORT"
	log "postgres: ready ($PG_URL)"
}

pg_init() {
	if [[ -f $PG_DATA/PG_VERSION ]]; then
		return 0
	fi
	log "postgres: initdb in $PG_DATA"
	rm -rf "$PG_DIR"
	mkdir -p "$PG_DATA" "$PG_RUN"
	local pwfile=$PG_DIR/pwfile
	printf '%s\n' "$DB_PASS" >"$pwfile"
	$IS_ROOT && chown -R "$PG_OS_USER:" "$PG_DIR"
	chmod 700 "$PG_DIR" "$PG_DATA"
	# The bootstrap superuser is `weber` itself. TCP logins need the password
	# (scram-sha-256); the Unix socket in $PG_RUN (mode 0700 dir) trusts local processes.
	as_user "$PG_OS_USER" "$PG_BIN/initdb" -D "$PG_DATA" -U "$DB_USER" --pwfile="$pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale --no-sync \
		>"$PG_DIR/initdb.log" 2>&1 ||
		{ cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
	rm -f "$pwfile"
	cat >>"$PG_DATA/postgresql.conf" <<EOF

# --- scripts/services.sh: a disposable test server, durability off ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
shared_buffers = 128MB
max_wal_size = 1GB
password_encryption = 'scram-sha-256'
logging_collector = off
log_min_messages = warning
EOF
}

pg_down() {
	if find_pg_bin && pg_running; then
		log "postgres: stopping"
		as_user "$PG_OS_USER" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$TIMEOUT" stop >/dev/null
	else
		log "postgres: not running"
	fi
}

# ---------------------------------------------------------------------------------------------
# MariaDB

MY_OS_USER=$(id -un)
$IS_ROOT && MY_OS_USER=mysql

my_running() {
	[[ -f $MY_PID ]] && pid_alive "$(<"$MY_PID")"
}

# my_root < SQL: run SQL as MariaDB's root over this server's socket.
my_root() {
	"$MY_CLIENT" --no-defaults --protocol=socket --socket="$MY_SOCK" -uroot
}

my_tcp_ok() {
	"$MY_CLIENT" --no-defaults --protocol=tcp -h127.0.0.1 -P"$MY_PORT" -u"$DB_USER" -p"$DB_PASS" \
		--connect-timeout=3 -D "$DB_NAME" -e 'select 1' >/dev/null 2>&1
}

my_up() {
	if my_running; then
		log "mariadb: already running ($MY_DATA)"
	elif port_in_use "$MY_PORT"; then
		my_tcp_ok || die "port $MY_PORT is taken by something that is not this script's MariaDB (or weber/weber cannot log in); stop it or set WEBER_MYSQL_PORT"
		log "mariadb: a server on 127.0.0.1:$MY_PORT already accepts weber/weber; using it"
		return 0
	else
		my_init
		log "mariadb: starting on 127.0.0.1:$MY_PORT"
		rm -f "$MY_PID" "$MY_SOCK"
		: >>"$MY_LOG"
		$IS_ROOT && chown "$MY_OS_USER:" "$MY_LOG"
		# --no-defaults: ignore /etc/mysql/*.cnf (the system server's datadir, socket, port).
		# Durability off; utf8mb4 as Debian's packaged config would set it.
		setsid "$MY_SERVER" --no-defaults \
			--user="$MY_OS_USER" \
			--datadir="$MY_DATA" --socket="$MY_SOCK" --pid-file="$MY_PID" --log-error="$MY_LOG" \
			--port="$MY_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
			--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
			--max-connections=500 \
			--skip-log-bin --sync-binlog=0 \
			--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
			--innodb-flush-method=fsync --innodb-use-native-aio=0 \
			--innodb-buffer-pool-size=256M --innodb-log-file-size=64M \
			</dev/null >>"$MY_LOG" 2>&1 &
		disown || true
	fi
	wait_for mariadb "$MY_LOG" "$MY_ADMIN" --no-defaults --protocol=socket --socket="$MY_SOCK" \
		-uroot --connect-timeout=2 ping
	# root keeps only root@localhost (the socket, no password); install-db also made root@<host>,
	# root@127.0.0.1 and root@::1, which --skip-name-resolve warns about on every connection.
	my_root <<EOF
DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost';
DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost';
DELETE FROM mysql.global_priv WHERE User = '';
FLUSH PRIVILEGES;
CREATE USER IF NOT EXISTS '$DB_USER'@'%' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER '$DB_USER'@'%' IDENTIFIED BY '$DB_PASS';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\`;
FLUSH PRIVILEGES;
EOF
	my_tcp_ok || die "mariadb is up but weber/weber cannot log in over TCP to 127.0.0.1:$MY_PORT"
	log "mariadb: ready ($MY_URL)"
}

my_init() {
	if [[ -d $MY_DATA/mysql ]]; then
		return 0
	fi
	log "mariadb: mariadb-install-db in $MY_DATA"
	rm -rf "$MY_DIR"
	mkdir -p "$MY_DATA"
	$IS_ROOT && chown -R "$MY_OS_USER:" "$MY_DIR"
	chmod 750 "$MY_DIR"
	# root@localhost without a password ("normal" auth): reachable only through the socket in
	# $MY_DIR (my_up drops the other root accounts and any anonymous one). No test db.
	(cd / && "$MY_INSTALL_DB" --no-defaults --datadir="$MY_DATA" --user="$MY_OS_USER" \
		--auth-root-authentication-method=normal --skip-test-db \
		>"$MY_DIR/install-db.log" 2>&1) ||
		{ cat "$MY_DIR/install-db.log" >&2; die "mariadb-install-db failed"; }
}

my_down() {
	if find_mariadb && my_running; then
		log "mariadb: stopping"
		local pid
		pid=$(<"$MY_PID")
		"$MY_ADMIN" --no-defaults --protocol=socket --socket="$MY_SOCK" -uroot shutdown \
			>/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
		local deadline=$((SECONDS + TIMEOUT))
		while pid_alive "$pid"; do
			((SECONDS < deadline)) || die "mariadb (pid $pid) did not stop within ${TIMEOUT}s"
			sleep 0.2
		done
	else
		log "mariadb: not running"
	fi
}

# ---------------------------------------------------------------------------------------------
# PgBouncer: transaction pooling in front of this script's PostgreSQL

# PgBouncer refuses to run as root: as root it runs as the postgres OS user.
PGB_OS_USER=$PG_OS_USER

pgb_running() {
	[[ -f $PGB_PID ]] && pid_alive "$(<"$PGB_PID")"
}

# pgb_tcp_ok: weber/weber reaches the server's weber database through the pooler.
pgb_tcp_ok() {
	PGPASSWORD=$DB_PASS PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -q -w -h 127.0.0.1 -p "$PGB_PORT" \
		-U "$DB_USER" -d "$DB_NAME" -tAc 'select 1' >/dev/null 2>&1
}

pgb_up() {
	if pgb_running; then
		log "pgbouncer: already running ($PGB_DIR)"
	elif port_in_use "$PGB_PORT"; then
		pgb_tcp_ok || die "port $PGB_PORT is taken by something that is not this script's PgBouncer (or weber/weber cannot log in through it); stop it or set WEBER_PGBOUNCER_PORT"
		log "pgbouncer: a pooler on 127.0.0.1:$PGB_PORT already accepts weber/weber; using it"
		return 0
	else
		pgb_init
		log "pgbouncer: starting on 127.0.0.1:$PGB_PORT (pool_mode=transaction)"
		rm -f "$PGB_PID"
		as_user "$PGB_OS_USER" "$PGB_BIN" -d -q "$PGB_INI" ||
			{ tail -n 30 "$PGB_LOG" >&2 || true; die "pgbouncer failed to start (log: $PGB_LOG)"; }
	fi
	wait_for pgbouncer "$PGB_LOG" pgb_tcp_ok
	log "pgbouncer: ready ($PGB_URL)"
}

# pgb_init writes the configuration (every time: it holds no data).
pgb_init() {
	mkdir -p "$PGB_DIR"
	# Any database name maps to the same name on the PostgreSQL above. Transaction pooling,
	# as most production PgBouncers run; 1.18 (Debian 12) keeps no prepared statements.
	cat >"$PGB_INI" <<EOF
[databases]
* = host=127.0.0.1 port=$PG_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
pidfile = $PGB_PID
logfile = $PGB_LOG
auth_type = scram-sha-256
auth_file = $PGB_DIR/userlist.txt
admin_users = $DB_USER
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
EOF
	printf '"%s" "%s"\n' "$DB_USER" "$DB_PASS" >"$PGB_DIR/userlist.txt"
	: >>"$PGB_LOG"
	$IS_ROOT && chown -R "$PGB_OS_USER:" "$PGB_DIR"
	chmod 700 "$PGB_DIR"
	chmod 600 "$PGB_DIR/userlist.txt"
}

pgb_down() {
	if pgb_running; then
		log "pgbouncer: stopping"
		local pid
		pid=$(<"$PGB_PID")
		kill -INT "$pid" 2>/dev/null || true
		local deadline=$((SECONDS + TIMEOUT))
		while pid_alive "$pid"; do
			((SECONDS < deadline)) || die "pgbouncer (pid $pid) did not stop within ${TIMEOUT}s"
			sleep 0.2
		done
	else
		log "pgbouncer: not running"
	fi
}

# ---------------------------------------------------------------------------------------------

print_env() {
	printf "export WEBER_TEST_POSTGRES_URL='%s'\n" "$PG_URL"
	printf "export WEBER_DEV_POSTGRES_URL='%s'\n" "$PG_URL"
	printf "export WEBER_TEST_MYSQL_URL='%s'\n" "$MY_URL"
	printf "export WEBER_DEV_MYSQL_URL='%s'\n" "$MY_URL"
	printf "export WEBER_TEST_PGBOUNCER_URL='%s'\n" "$PGB_URL"
}

usage() {
	sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

cmd=${1:-}
case $cmd in
up)
	start=$SECONDS
	mkdir -p "$BASE_DIR"
	ensure_packages
	pg_up
	pgb_up
	my_up
	log "up in $((SECONDS - start))s"
	;;
down)
	find_pg_bin || true
	find_mariadb || true
	find_pgbouncer || true
	pgb_down
	pg_down
	my_down
	;;
clean)
	find_pg_bin || true
	find_mariadb || true
	find_pgbouncer || true
	pgb_down
	pg_down
	my_down
	log "removing $PG_DIR $MY_DIR $PGB_DIR"
	rm -rf "$PG_DIR" "$MY_DIR" "$PGB_DIR"
	;;
status)
	ok=0
	if find_pg_bin && pg_tcp_ok; then log "postgres: up ($PG_URL)"; else log "postgres: down"; ok=1; fi
	if find_mariadb && my_tcp_ok; then log "mariadb: up ($MY_URL)"; else log "mariadb: down"; ok=1; fi
	# PgBouncer is reported but does not count: .ci/run reads this status to decide whether the
	# servers were already running (and must be left running), and `up` starts PgBouncer anyway.
	if find_pg_bin && pgb_tcp_ok; then log "pgbouncer: up ($PGB_URL)"; else log "pgbouncer: down"; fi
	exit $ok
	;;
env)
	print_env
	;;
*)
	usage
	;;
esac
