#!/usr/bin/env bash
# Run `muontra sip2 doctor` against Evergreen's standalone SIPServer and its bundled test ILS.
#
#   SIPSERVER_SRC=/path/to/SIPServer scripts/interop/evergreen-sipserver.sh [DOCTOR OPTIONS]
#   SIPSERVER_SRC=/path/to/SIPServer scripts/interop/evergreen-sipserver.sh --serve
#
# SIPSERVER_SRC is a checkout of https://github.com/atz/SIPServer (not shipped
# with muontra). The script installs the Perl modules it needs from Debian,
# copies the source to a temporary folder and makes two compatibility edits
# there, never in the checkout:
#   1. modern Perl refuses `use UNIVERSAL qw(can)` in Sip/MsgType.pm: it becomes
#      `use UNIVERSAL ()` and the bare can() calls UNIVERSAL::can();
#   2. the test ILS lacks methods the Evergreen-era message code calls (patron
#      internal_id, item collection_code, call_number, destination_loc,
#      hold_patron_bcode, hold_patron_name), so its process dies on every checkin,
#      patron information and item information: evergreen-test-ils-compat.pm,
#      next to this script, is loaded with -M and adds them, answering what a plain
#      Evergreen without sort bins or holds answers (nothing; the barcode as the
#      internal id). SIPSERVER_AS_SHIPPED=1 leaves it out, to see the failures.
# The configuration it writes listens on a free loopback port and runs a single
# server process: the test ILS keeps its loans in that process's memory, so a
# checkout on one connection is seen by a checkin on the next (a real Evergreen
# keeps them in its database).
#
# Without options it runs the doctor (patron djfiander, PIN 6789, item
# 1565921879) and stops the server; exit 77 = skipped (no source), otherwise the
# doctor's exit status. With --serve it prints "SIPServer (test ILS) on
# 127.0.0.1:PORT" on stderr once the server accepts connections and keeps it
# running until it is sent SIGTERM; the server's errors are printed on the way out.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
muontra="${MUONTRA:-$here/.venv/bin/muontra}"
src="${SIPSERVER_SRC:-}"
serve=0
if [ "${1:-}" = "--serve" ]; then serve=1; shift; fi
if [ -z "$src" ] || [ ! -f "$src/SIPServer.pm" ]; then
    echo "skipped: set SIPSERVER_SRC to a checkout of Evergreen's SIPServer" >&2
    exit 77
fi
packages=(libnet-server-perl libxml-simple-perl libuniversal-require-perl)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work="$(mktemp -d)"
server_pid=""
server_errors() {
    echo "server errors:" >&2
    grep -v "isn't numeric" "$work/server.log" 2>/dev/null | grep -E "Can't|error" | sort | uniq -c >&2 || true
}
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    [ "$serve" -eq 1 ] && server_errors
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
cp -r "$src/." "$work/"
# Edit 1: modern Perl refuses `use UNIVERSAL qw(can)`.
sed -i 's/^use UNIVERSAL qw(can);/use UNIVERSAL ();/; s/\([^:>]\)\bcan(/\1UNIVERSAL::can(/g' \
    "$work/Sip/MsgType.pm"
# Edit 2: the test ILS's missing methods (see evergreen-test-ils-compat.pm).
preload=()
if [ "${SIPSERVER_AS_SHIPPED:-0}" != 1 ]; then
    cp "$here/scripts/interop/evergreen-test-ils-compat.pm" "$work/MuontraTestIlsCompat.pm"
    preload=(-MMuontraTestIlsCompat)
fi
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 - "$work/SIPconfig.xml" "$work/test-config.xml" "$port" <<'PY'
import re, sys
source, target, port = sys.argv[1:]
text = open(source, encoding="utf-8").read()
listener = f'<listeners><service port="127.0.0.1:{port}/tcp" transport="RAW" protocol="SIP/2.00" timeout="60" /></listeners>'
text = re.sub(r"<listeners>.*?</listeners>", listener, text, flags=re.S)
# One server process: the test ILS's loans live in its memory.
params = "<server-params min_servers='1' min_spare_servers='0' max_servers='1' />"
text = re.sub(r"<server-params.*?/>", params, text, flags=re.S)
open(target, "w", encoding="utf-8").write(text)
PY
(cd "$work" && exec perl -I. "${preload[@]}" SIPServer.pm test-config.xml >"$work/server.log" 2>&1) &
server_pid=$!
up=0
for _ in $(seq 300); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
        up=1; break
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if [ "$up" -ne 1 ]; then
    echo "SIPServer did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
fi
echo "SIPServer (test ILS) on 127.0.0.1:$port" >&2
if [ "$serve" -eq 1 ]; then
    wait "$server_pid"
    exit $?
fi
set +e
# The test ILS's login (SIPconfig.xml) by password_env: no password on a command line.
export SIPSERVER_LOGIN_PASSWORD=clientpwd
"$muontra" sip2 doctor \
    "sip2://scclient@127.0.0.1:$port?institution=UWOLS&profile=evergreen&timeout=5&password_env=SIPSERVER_LOGIN_PASSWORD" \
    --patron djfiander --pin --item 1565921879 "$@" <<<"6789"  # SIPServer's test patron's PIN, asked for
status=$?
set -e
server_errors
exit $status
