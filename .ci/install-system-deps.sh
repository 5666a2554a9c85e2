#!/usr/bin/env bash
# Install the system packages that pip cannot bring, for dunning's system tests:
#   - PostgreSQL server binaries (initdb, pg_ctl, postgres), for tests that start a throwaway server
#     (the PostgreSQL audit store, a later issue)
#   - Debian's Chromium, driven headless by Playwright (a browser download from a CDN is not possible)
#   - libatomic1, which the node binary bundled in the `playwright` wheel links against
#   - small fonts so screenshots show text: Latin (Liberation, metric-compatible with Arial/Times)
#     and CJK (WenQuanYi Micro Hei, ~1.6 MB download, instead of fonts-noto-cjk's ~57 MB)
#
# Idempotent: does nothing (and does not touch apt) when everything is already there.
# Non-interactive, for root (as on the project's machines and CI); uses sudo if not root and available.
# Does NOT start the Debian-managed cluster service: tests start their own server.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

log() { printf 'install-system-deps: %s\n' "$*"; }

have_pg() {
    local d
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        return 0
    fi
    for d in /usr/lib/postgresql/*/bin; do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
            return 0
        fi
    done
    return 1
}

have_chromium() { [[ -x /usr/bin/chromium ]]; }

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Small packages checked one by one:
#   libatomic1: needed by the node binary inside the `playwright` wheel (not on a minimal Debian:
#               without it the driver dies with "libatomic.so.1: cannot open shared object file")
#   fonts-*:    text in screenshots (Latin + CJK)
EXTRA_PKGS=(libatomic1 fonts-liberation2 fonts-wqy-microhei)

missing=()
if have_pg; then
    log "PostgreSQL server binaries: present"
else
    log "PostgreSQL server binaries: missing"
    missing+=(postgresql)
fi
if have_chromium; then
    log "Chromium (/usr/bin/chromium): present"
else
    log "Chromium (/usr/bin/chromium): missing"
    missing+=(chromium)
fi
for p in "${EXTRA_PKGS[@]}"; do
    if have_pkg "$p"; then
        log "package $p: present"
    else
        log "package $p: missing"
        missing+=("$p")
    fi
done

if ((${#missing[@]} == 0)); then
    log "nothing to install"
    exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n)
    else
        log "not root and no sudo: install these by hand: apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

# Keep the Debian package's post-install from starting its own cluster service (port 5432):
# a policy-rc.d that denies service starts, only for the duration of this install.
# (Containers usually have no running init anyway; this makes it explicit.)
POLICY=/usr/sbin/policy-rc.d
policy_created=0
if [[ ! -e $POLICY ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    policy_created=1
fi
cleanup() {
    if ((policy_created)); then
        "${SUDO[@]}" rm -f "$POLICY"
    fi
}
trap cleanup EXIT

start=$SECONDS
log "apt-get update"
"${SUDO[@]}" apt-get update -q
log "apt-get install -y --no-install-recommends ${missing[*]}"
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

# Verify, so a broken install fails here rather than in the tests.
have_pg || { log "PostgreSQL still missing after install" >&2; exit 1; }
have_chromium || { log "/usr/bin/chromium still missing after install" >&2; exit 1; }
log "installed ${missing[*]} in $((SECONDS - start)) s"
