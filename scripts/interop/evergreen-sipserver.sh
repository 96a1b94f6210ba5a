#!/usr/bin/env bash
# Run `muontra sip2 doctor` against Evergreen's standalone SIPServer and its bundled test ILS.
#
#   SIPSERVER_SRC=/path/to/SIPServer scripts/interop/evergreen-sipserver.sh
#
# SIPSERVER_SRC is a checkout of https://github.com/atz/SIPServer (not shipped
# with muontra). The script installs the Perl modules it needs from Debian,
# copies the source to a temporary folder, makes one compatibility edit there
# (modern Perl refuses `use UNIVERSAL qw(can)`), writes a config for a free
# loopback port, starts the server, runs the doctor, and stops the server.
# Exit 77 = skipped (no source), otherwise the doctor's exit status.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
muontra="${MUONTRA:-$here/.venv/bin/muontra}"
src="${SIPSERVER_SRC:-}"
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
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cp -r "$src/." "$work/"
sed -i 's/^use UNIVERSAL qw(can);/use UNIVERSAL ();/; s/\([^:>]\)\bcan(/\1UNIVERSAL::can(/g' \
    "$work/Sip/MsgType.pm"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 - "$work/SIPconfig.xml" "$work/test-config.xml" "$port" <<'PY'
import re, sys
source, target, port = sys.argv[1:]
text = open(source, encoding="utf-8").read()
listener = f'<listeners><service port="127.0.0.1:{port}/tcp" transport="RAW" protocol="SIP/2.00" timeout="60" /></listeners>'
open(target, "w", encoding="utf-8").write(re.sub(r"<listeners>.*?</listeners>", listener, text, flags=re.S))
PY
(cd "$work" && exec perl -I. SIPServer.pm test-config.xml >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
    sleep 0.1
done
echo "SIPServer (test ILS) on 127.0.0.1:$port" >&2
set +e
"$muontra" sip2 doctor \
    "sip2://scclient:clientpwd@127.0.0.1:$port?institution=UWOLS&profile=evergreen&timeout=5" \
    --patron djfiander --pin 6789 --item 1565921879 "$@"
status=$?
set -e
echo "server errors:" >&2
grep -v "isn't numeric" "$work/server.log" | grep -E "Can't|error" | sort | uniq -c >&2 || true
exit $status
