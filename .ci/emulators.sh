#!/usr/bin/env bash
# Installs and runs the local AWS emulators the integration tests talk to:
# AWS's DynamoDB Local and fauxqs (SQS). Each gets a free port on 127.0.0.1, so
# several checkouts, or several runs in one checkout, never fight over a port.
#
# usage: .ci/emulators.sh install        install both (fast when present)
#        .ci/emulators.sh start          start both; env in .tools/emulators.env
#        .ci/emulators.sh stop           stop what start started (and what a killed
#                                        run left behind)
#        .ci/emulators.sh run -- CMD...  start a private instance, run CMD with its
#                                        env, always stop it, exit with CMD's status
#
# Everything lands in .tools/ at the repo root (gitignored). CI starts from a
# fresh machine, so this script installs what it needs itself: Java (apt-get)
# if missing; DynamoDB Local and fauxqs from the npm registry. Node.js >= 20
# and npm must already be there.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
LOGS="$TOOLS/logs"

# DynamoDB Local 1.25.1 as shipped in this npm package's emulator/ folder.
# The sha256 pins the tarball, on top of npm's own integrity check.
DDB_PKG=amplify-dynamodb-simulator@2.9.30
DDB_PKG_FILE=amplify-dynamodb-simulator-2.9.30.tgz
DDB_PKG_SHA256=3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9
DDB_DIR="$TOOLS/dynamodb-local-1.25.1"
# Serial GC, a small heap and C1 only: the JVM is short-lived and shares two
# cores with `go test -race`; C1 alone starts ~1 s sooner. No perf data file
# in /tmp, which a SIGKILLed JVM would leave behind.
DDB_JAVA_OPTS=(-Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData)

FAUXQS_VERSION=1.9.2
FAUXQS_DIR="$TOOLS/fauxqs-$FAUXQS_VERSION"
# No lockfile can live in .tools/, so npm resolves fauxqs's dependency ranges
# as they stood the day after fauxqs 1.9.2 was published: the same tree on
# every machine, and one that still runs on Node 20 (newer cookie needs 22).
FAUXQS_NPM_BEFORE=2026-03-22T00:00:00Z

READY_TIMEOUT=${INGREN_EMULATORS_TIMEOUT:-60} # seconds, per emulator
NPM_FLAGS=(--ignore-scripts --no-audit --no-fund --no-update-notifier --loglevel=error)

log() { printf 'emulators: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	else
		shasum -a 256 "$1" | cut -d' ' -f1
	fi
}

# lock serialises installs, so two first runs in one checkout don't unpack
# over each other. flock is util-linux; without it (macOS) we go unlocked.
lock() {
	mkdir -p "$TOOLS"
	exec 9>"$TOOLS/.install.lock"
	if command -v flock >/dev/null 2>&1; then flock 9; fi
}

install_java() {
	command -v java >/dev/null 2>&1 && return
	local sudo=()
	if [[ $(id -u) != 0 ]]; then
		command -v sudo >/dev/null 2>&1 || die "java not found: install a Java 17 runtime (Debian: openjdk-17-jre-headless)"
		sudo=(sudo)
	fi
	log "installing openjdk-17-jre-headless"
	# Debian slim images drop /usr/share/man; older JRE postinsts failed
	# without man1. Harmless where it exists.
	${sudo[@]+"${sudo[@]}"} mkdir -p /usr/share/man/man1
	${sudo[@]+"${sudo[@]}"} apt-get update -qq
	${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
	command -v java >/dev/null 2>&1 || die "java still not found after apt-get install"
}

install_dynamodb() {
	[[ -f $DDB_DIR/.installed ]] && return
	need npm "install Node.js >= 20 with npm"
	need tar "install tar"
	log "installing DynamoDB Local from $DDB_PKG"
	local tmp
	tmp=$(mktemp -d "$TOOLS/.tmp.XXXXXX")
	# npm pack only downloads the tarball: none of the package's scripts run,
	# and its dependencies (which would download more) are never installed.
	(cd "$tmp" && npm pack "${NPM_FLAGS[@]}" "$DDB_PKG" >/dev/null)
	local sum
	sum=$(sha256 "$tmp/$DDB_PKG_FILE")
	[[ $sum == "$DDB_PKG_SHA256" ]] || die "$DDB_PKG_FILE: sha256 $sum, want $DDB_PKG_SHA256"
	tar -xzf "$tmp/$DDB_PKG_FILE" -C "$tmp" package/emulator
	rm -rf "$DDB_DIR"
	mv "$tmp/package/emulator" "$DDB_DIR"
	rm -rf "$tmp"
	echo "$DDB_PKG" >"$DDB_DIR/.installed"
}

install_fauxqs() {
	[[ -f $FAUXQS_DIR/.installed ]] && return
	need npm "install Node.js >= 20 with npm"
	log "installing fauxqs@$FAUXQS_VERSION"
	local tmp
	tmp=$(mktemp -d "$TOOLS/.tmp.XXXXXX")
	# A folder of its own, so another tool's `npm install --prefix .tools`
	# can't prune fauxqs as extraneous.
	printf '{"private": true, "dependencies": {"fauxqs": "%s"}}\n' "$FAUXQS_VERSION" >"$tmp/package.json"
	npm install --prefix "$tmp" "${NPM_FLAGS[@]}" --omit=dev --before="$FAUXQS_NPM_BEFORE" >/dev/null
	rm -rf "$FAUXQS_DIR"
	chmod 755 "$tmp" # mktemp made it 0700
	mv "$tmp" "$FAUXQS_DIR"
	echo "fauxqs@$FAUXQS_VERSION" >"$FAUXQS_DIR/.installed"
}

cmd_install() {
	if [[ -f $DDB_DIR/.installed && -f $FAUXQS_DIR/.installed ]] && command -v java >/dev/null 2>&1; then
		return
	fi
	lock
	rm -rf "$TOOLS"/.tmp.* # left by an interrupted install; we hold the lock
	install_java
	install_dynamodb
	install_fauxqs
	exec 9>&-
}

# free_ports N prints N distinct ports that were free on 127.0.0.1: the OS
# picks them (port 0) while all N are held, then they are released. Node is
# needed for fauxqs anyway, and Go can't run before this builds.
free_ports() {
	node -e '
		const net = require("net");
		const n = Number(process.argv[1]);
		const servers = [];
		for (let i = 0; i < n; i++) {
			const s = net.createServer();
			s.listen(0, "127.0.0.1", () => {
				servers.push(s);
				if (servers.length === n) {
					console.log(servers.map((s) => s.address().port).join(" "));
					servers.forEach((s) => s.close());
				}
			});
		}' "$1"
}

# probe PORT METHOD PATH: prints the HTTP status line that 127.0.0.1:PORT
# answers, or fails. Bash's /dev/tcp: a node process per probe costs up to
# 0.7 s on a loaded 2-core machine.
probe() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf '%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n' "$2" "$3" >&3
		IFS= read -r -t 2 line <&3 || exit 1
		printf '%s\n' "$line"
	) 2>/dev/null
}

# launch NAME PORT LOGFILE starts one emulator in its own session (so stop can
# kill its whole process group), records its pid in ENV_FILE at once (so even
# a run killed while waiting leaves nothing that stop can't find), and prints
# the pid.
launch() {
	local name=$1 port=$2 logfile=$3 key
	local setsid=()
	command -v setsid >/dev/null 2>&1 && setsid=(setsid)
	case $name in
	dynamodb)
		key=DYNAMODB
		# The cwd gets dynamodb-local-metadata.json. -disableTelemetry alone
		# still initialises telemetry; the variable skips it (~1 s faster, and
		# there is no network to send it to).
		(cd "$DDB_DIR" && DDB_LOCAL_TELEMETRY=0 exec ${setsid[@]+"${setsid[@]}"} java "${DDB_JAVA_OPTS[@]}" \
			-Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" -jar "$DDB_DIR/DynamoDBLocal.jar" \
			-inMemory -sharedDb -disableTelemetry -port "$port") </dev/null >"$logfile" 2>&1 &
		;;
	sqs)
		key=SQS
		# fauxqs's CLI hard-codes logger: true, so FAUXQS_LOGGER is ignored;
		# its request log goes to the file. It listens on 0.0.0.0 (no option).
		(cd "$FAUXQS_DIR" && FAUXQS_PORT=$port exec ${setsid[@]+"${setsid[@]}"} node node_modules/fauxqs/dist/cli.js) \
			</dev/null >"$logfile" 2>&1 &
		;;
	esac
	local pid=$!
	echo "export INGREN_${key}_PID=$pid" >>"$ENV_FILE"
	echo "$pid"
}

is_ready() {
	local name=$1 port=$2
	local status
	case $name in
	dynamodb) # Any answer will do: the request has no credentials.
		status=$(probe "$port" POST /) && [[ $status == HTTP/* ]] ;;
	sqs)
		status=$(probe "$port" GET /health) && [[ $status == "HTTP/1."?" 200"* ]] ;;
	esac
}

# await NAME PID PORT LOGFILE waits until NAME answers and prints "PID PORT".
# If it lost a race for its port, it is relaunched on a fresh one.
await() {
	local name=$1 pid=$2 port=$3 logfile=$4 attempt deadline
	for attempt in 1 2 3; do
		deadline=$((SECONDS + READY_TIMEOUT))
		while ((SECONDS < deadline)) && alive "$pid" && ! port_taken "$logfile"; do
			if is_ready "$name" "$port"; then
				echo "$pid $port"
				return 0
			fi
			sleep 0.1
		done
		if port_taken "$logfile" && ((attempt < 3)); then
			kill_tree "$pid"
			port=$(free_ports 1)
			log "$name: port taken, retrying on $port"
			pid=$(launch "$name" "$port" "$logfile")
			continue
		fi
		if port_taken "$logfile"; then
			kill_tree "$pid"
			log "$name lost the race for a free port $attempt times; log $logfile:"
		elif alive "$pid"; then
			kill_tree "$pid"
			log "$name not ready on port $port after ${READY_TIMEOUT}s; log $logfile:"
		else
			log "$name exited before it was ready; log $logfile:"
		fi
		cat "$logfile" >&2
		return 1
	done
}

# port_taken LOGFILE: did the emulator fail to bind its port? DynamoDB Local
# logs the BindException but its JVM stays up, so waiting for it to exit
# would take the whole deadline.
port_taken() {
	grep -qE 'Address already in use|EADDRINUSE' "$1"
}

# is_ours PID NEEDLE: is PID alive and still the emulator we started (not a
# recycled pid)?
is_ours() {
	local args
	if [[ -r /proc/$1/cmdline ]]; then
		args=$(tr '\0' ' ' <"/proc/$1/cmdline")
	else
		args=$(ps -o args= -p "$1" 2>/dev/null) || return 1
	fi
	[[ $args == *"$2"* ]]
}

# alive PID: is PID running (a zombie is not)?
alive() {
	local stat
	if [[ -r /proc/$1/stat ]]; then
		stat=$(<"/proc/$1/stat") || return 1
		stat=${stat##*) }
		[[ ${stat%% *} != Z ]]
	else
		kill -0 "$1" 2>/dev/null
	fi
}

# kill_tree PID kills PID's process group (PID leads it, thanks to setsid),
# or PID alone without setsid, and waits until PID is gone. SIGKILL at once:
# both emulators keep everything in memory, so there is nothing to flush,
# and their graceful shutdowns take ~2 s each.
kill_tree() {
	local pid=$1 i
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		alive "$pid" || return 0
		sleep 0.05
	done
	log "pid $pid still there 5 s after SIGKILL"
}

# stop_instance ENVFILE stops the emulators recorded in ENVFILE (every pid
# line: a relaunch after a port race adds one) and removes it.
stop_instance() {
	local envfile=$1 line pid
	[[ -f $envfile ]] || return 0
	while IFS= read -r line; do
		case $line in
		"export INGREN_DYNAMODB_PID="*)
			pid=${line#*=}
			if is_ours "$pid" DynamoDBLocal.jar; then kill_tree "$pid"; fi
			;;
		"export INGREN_SQS_PID="*)
			pid=${line#*=}
			if is_ours "$pid" fauxqs; then kill_tree "$pid"; fi
			;;
		esac
	done <"$envfile"
	rm -f "$envfile"
}

# instance_alive ENVFILE: were both emulators in ENVFILE ready, and are they
# still running?
instance_alive() {
	local envfile=$1 ddb sqs
	[[ -f $envfile ]] && grep -q '^export INGREN_SQS_ENDPOINT=' "$envfile" || return 1
	ddb=$(sed -n 's/^export INGREN_DYNAMODB_PID=//p' "$envfile" | tail -n 1)
	sqs=$(sed -n 's/^export INGREN_SQS_PID=//p' "$envfile" | tail -n 1)
	[[ -n $ddb && -n $sqs ]] && is_ours "$ddb" DynamoDBLocal.jar && is_ours "$sqs" fauxqs
}

# start_instance NAME starts both emulators and writes .tools/emulators[.NAME].env.
# Sets ENV_FILE, DDB_LOG and SQS_LOG for the caller.
start_instance() {
	local suffix=${1:+.$1}
	ENV_FILE="$TOOLS/emulators$suffix.env"
	DDB_LOG="$LOGS/dynamodb$suffix.log"
	SQS_LOG="$LOGS/sqs$suffix.log"
	cmd_install
	need node "install Node.js >= 20"
	mkdir -p "$LOGS"
	# run keeps its logs only when CMD failed; a day is long enough to read them.
	find "$LOGS" -name '*.run-*.log' -mtime +0 -delete 2>/dev/null || true
	local ports ddb_port sqs_port ddb_pid sqs_pid ddb sqs
	echo "# Written by .ci/emulators.sh; removed by .ci/emulators.sh stop." >"$ENV_FILE"
	ports=$(free_ports 2)
	ddb_port=${ports% *} sqs_port=${ports#* }
	# Both boot in parallel; DynamoDB Local's JVM is the slow one (~2 s).
	ddb_pid=$(launch dynamodb "$ddb_port" "$DDB_LOG")
	sqs_pid=$(launch sqs "$sqs_port" "$SQS_LOG")
	if ! ddb=$(await dynamodb "$ddb_pid" "$ddb_port" "$DDB_LOG"); then
		kill_tree "$sqs_pid"
		return 1
	fi
	if ! sqs=$(await sqs "$sqs_pid" "$sqs_port" "$SQS_LOG"); then
		kill_tree "${ddb% *}"
		return 1
	fi
	# The SQS endpoint goes last: instance_alive takes it to mean "ready".
	cat >>"$ENV_FILE" <<EOF
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export INGREN_DYNAMODB_ENDPOINT=http://127.0.0.1:${ddb#* }
export INGREN_SQS_ENDPOINT=http://127.0.0.1:${sqs#* }
EOF
}

cmd_start() {
	local envfile="$TOOLS/emulators.env"
	if instance_alive "$envfile"; then
		log "already running; source $envfile"
		return
	fi
	stop_instance "$envfile" # a stale file from a crash or a reboot
	start_instance ""
	log "started; source $ENV_FILE"
	cat "$ENV_FILE"
}

# cmd_stop stops what `start` started, and the leftovers of any `run` that
# was killed before its trap could clean up. A live `run` (another terminal,
# another engineer in a shared checkout) keeps its emulators.
cmd_stop() {
	stop_instance "$TOOLS/emulators.env"
	local f owner
	for f in "$TOOLS"/emulators.run-*.env; do
		[[ -e $f ]] || continue
		owner=${f##*/emulators.run-}
		owner=${owner%.env}
		is_ours "$owner" emulators.sh || stop_instance "$f"
	done
}

cmd_run() {
	[[ ${1:-} == -- ]] && shift
	(($#)) || die "usage: $0 run -- CMD..."
	# A private instance, so a concurrent run or a developer's `start` in the
	# same checkout is neither reused nor stopped by this one.
	local name="run-$$"
	ENV_FILE="$TOOLS/emulators.$name.env"
	trap 'stop_instance "$ENV_FILE" || true' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	start_instance "$name"
	# shellcheck source=/dev/null
	source "$ENV_FILE"
	local status=0
	"$@" || status=$?
	if ! instance_alive "$ENV_FILE"; then
		log "an emulator died during the run; logs: $DDB_LOG $SQS_LOG"
		((status != 0)) || status=1
	fi
	if ((status == 0)); then
		rm -f "$DDB_LOG" "$SQS_LOG"
	else
		log "emulator logs kept: $DDB_LOG $SQS_LOG"
	fi
	return "$status"
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop ;;
run)
	shift
	cmd_run "$@"
	;;
*) die "usage: $0 install|start|stop|run -- CMD..." ;;
esac
