#!/usr/bin/env bash
# Install one muontra device role on Debian 12 / Raspberry Pi OS (bookworm, 64-bit):
# the packages it needs, the `muontra` user and its groups, /etc/muontra, a virtualenv
# in /opt/muontra/.venv with only the role's extras, the example configuration, the
# systemd unit, enabled and started. docs/install.md walks through it.
#
# Idempotent: run it again after `git pull` to update. An existing configuration or
# environment file is never overwritten; the unit is replaced only when it changed.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/install-device.sh [options] ROLE

ROLE is kiosk, gate or sorter.

  --dry-run        print every command that would change the machine, change nothing
  --root DIR       install into DIR as if it were / (a DESTDIR, for images and tests):
                   no apt-get, no user, no chown, no start; the unit is enabled offline
  --extras LIST    pip extras instead of the role's (kiosk: ui,printer,gpio,pcsc,nfc;
                   gate: gpio; sorter: ui,printer,gpio,plc), e.g. --extras gpio,pcsc
  --source DIR     the muontra source tree to install (default: this script's)
  --python PYTHON  the interpreter of the virtualenv (default: python3, >= 3.11)
  --no-venv        leave the virtualenv alone (already installed another way)
  --no-start       enable the unit but do not start it now
EOF
}

dry=0
root=""
extras=""
source_dir="$(cd "$(dirname "$0")/.." && pwd)"
python="python3"
venv=1
start=1
role=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) dry=1 ;;
        --root) root="${2:?--root needs a directory}"; shift ;;
        --extras) extras="${2?--extras needs a list}"; shift ;;
        --source) source_dir="${2:?--source needs a directory}"; shift ;;
        --python) python="${2:?--python needs an interpreter}"; shift ;;
        --no-venv) venv=0 ;;
        --no-start) start=0 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "install-device: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) [ -z "$role" ] || { echo "install-device: one ROLE only" >&2; exit 2; }; role="$1" ;;
    esac
    shift
done

case "$role" in
    kiosk)  example="kiosk-self-checkout.example.toml"; role_extras="ui,printer,gpio,pcsc,nfc" ;;
    gate)   example="gate.example.toml";                role_extras="gpio" ;;
    sorter) example="sorter.example.toml";              role_extras="ui,printer,gpio,plc" ;;
    "") usage >&2; exit 2 ;;
    *) echo "install-device: unknown role '$role' (kiosk, gate or sorter)" >&2; exit 2 ;;
esac
extras="${extras:-$role_extras}"
if [[ ! "$extras" =~ ^[a-z]+(,[a-z]+)*$|^$ ]]; then
    echo "install-device: --extras takes names separated by commas, e.g. gpio,pcsc" >&2
    exit 2
fi
if [ -n "$root" ]; then
    root="$(cd "$root" && pwd)"
    [ "$root" != "/" ] || root=""
fi
if [ "$dry" -eq 0 ] && [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
    echo "install-device: run it as root (sudo), or with --dry-run or --root DIR" >&2
    exit 1
fi

unit_name="muontra-$role.service"
unit_src="$source_dir/systemd/$unit_name"
config_src="$source_dir/config/$example"
for needed in "$unit_src" "$config_src"; do
    if [ ! -f "$needed" ]; then
        echo "install-device: $needed is missing" >&2
        exit 1
    fi
done

opt="$root/opt/muontra"
etc="$root/etc/muontra"
units="$root/etc/systemd/system"
config="$etc/$role.toml"
env_file="$etc/$role.env"
user="muontra"

say() { printf '%s\n' "install-device: $*"; }
# Every command that changes the machine goes through run: printed, then done
# unless --dry-run. Checks that only look (getent, cmp, test) run in both modes.
run() {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
    [ "$dry" -eq 1 ] || "$@"
}
offline() { [ -n "$root" ]; }

on_a_pi() {
    [ -r /proc/device-tree/model ] && grep -qa "Raspberry Pi" /proc/device-tree/model
}
has_extra() { [[ ",$extras," == *",$1,"* ]]; }

# -- 1. Debian packages: what the role's extras load at run time (or build with) -----
packages=(python3-venv fonts-dejavu-core)
has_extra pcsc && packages+=(pcscd libpcsclite1 libpcsclite-dev swig gcc python3-dev)
has_extra printer && packages+=(libusb-1.0-0)
has_extra nfc && packages+=(libusb-1.0-0)
has_extra ui && packages+=(libgl1 libegl1 libxkbcommon0 libfontconfig1 libfreetype6 \
    libdbus-1-3 libglib2.0-0 libwayland-client0 libwayland-cursor0 libwayland-egl1 cage)
# gpiozero drives a Pi's pins through lgpio (bookworm, Pi 5 included): Debian's
# package, seen by the virtualenv through --system-site-packages.
site_packages=()
if has_extra gpio && on_a_pi; then
    packages+=(python3-lgpio)
    site_packages=(--system-site-packages)
fi
if offline; then
    say "skipped under --root: apt-get install ${packages[*]}"
else
    missing=()
    for pkg in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    else
        say "Debian packages present"
    fi
fi

# -- 2. the user and the groups its unit names (SupplementaryGroups=) -----------------
groups="$(sed -n 's/^SupplementaryGroups=//p' "$unit_src" | tail -n 1)"
if offline; then
    say "skipped under --root: the system user $user and groups: $groups"
else
    for group in $groups; do
        getent group "$group" >/dev/null || run groupadd --system "$group"
    done
    if getent passwd "$user" >/dev/null; then
        say "user $user exists"
    else
        run useradd --system --user-group --home-dir /var/lib/muontra --no-create-home \
            --shell /usr/sbin/nologin "$user"
    fi
fi

# install(1) with an owner only when it can give one (not under --root).
owned() {  # owned OWNER:GROUP install-args...
    local who="$1"; shift
    if offline; then
        run install "$@"
    else
        run install -o "${who%%:*}" -g "${who##*:}" "$@"
    fi
}

# -- 3. directories ------------------------------------------------------------------
# /etc/muontra: root's, readable by the service's group; secrets: root's alone (the
# units hand them over with LoadCredential=). data_dir and the socket's directory are
# the units' StateDirectory= and RuntimeDirectory=, made by systemd at start.
owned root:"$user" -d -m 0750 "$etc"
owned root:root -d -m 0700 "$etc/secrets"
owned root:root -d -m 0755 "$units"

# -- 4. the virtualenv with the role's extras ----------------------------------------
if [ "$venv" -eq 1 ]; then
    if [ -x "$opt/.venv/bin/python" ]; then
        say "virtualenv $opt/.venv exists"
    else
        run "$python" -m venv "${site_packages[@]}" "$opt/.venv"
    fi
    run "$opt/.venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    spec="$source_dir"
    [ -z "$extras" ] || spec="$source_dir[$extras]"
    run "$opt/.venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
else
    say "virtualenv left alone (--no-venv)"
fi

# -- 5. configuration: the example once, never over the site's own -------------------
if [ -e "$config" ]; then
    say "kept $config (the site's own)"
else
    owned root:"$user" -m 0640 "$config_src" "$config"
fi
if [ -e "$env_file" ]; then
    say "kept $env_file"
else
    owned root:root -m 0600 /dev/null "$env_file"
fi

# -- 6. the unit, enabled (and started) ----------------------------------------------
if cmp -s "$unit_src" "$units/$unit_name"; then
    say "$unit_name unchanged"
    changed=0
else
    owned root:root -m 0644 "$unit_src" "$units/$unit_name"
    changed=1
fi
if offline; then
    run systemctl --root="$root" enable "$unit_name"
else
    [ "$changed" -eq 0 ] || run systemctl daemon-reload
    if [ "$start" -eq 0 ]; then
        run systemctl enable "$unit_name"
    elif systemctl is-active --quiet "$unit_name" 2>/dev/null; then
        # Running: it keeps its old code and unit until restarted (an update).
        run systemctl enable "$unit_name"
        run systemctl restart "$unit_name"
    else
        run systemctl enable --now "$unit_name"
    fi
fi

say "done: $role with extras [${extras}]"
say "next: edit $config (device.id, device.site, ils.url, the device URLs), then check it:"
say "  sudo -u $user /opt/muontra/.venv/bin/muontra doctor --config /etc/muontra/$role.toml"
if [ "$role" = kiosk ]; then
    say "the touchscreen (cage, its user and staff PIN): docs/kiosk-deploy.md"
fi
