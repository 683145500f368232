#!/usr/bin/env bash
# Installs what the test suite needs (apt and pip) and runs it: lint, types, tests.
# Run as root from the repository root on Debian; the network tests build their own
# namespaces and never touch the host's sysctls, routes or firewall.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v nft >/dev/null || need+=(nftables)
command -v setpriv >/dev/null || need+=(util-linux)
command -v ping >/dev/null || need+=(iputils-ping)
command -v fping >/dev/null || need+=(fping)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
[ -x /usr/bin/python3 ] || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'

.venv/bin/ruff check src tests
.venv/bin/ruff format --check src tests
.venv/bin/mypy

# Namespace tests must run here: without namespaces they fail instead of skipping.
export PSK_REQUIRE_NETNS=1

# pytest exits 5 when it collects nothing: for this suite that is a failure, said plainly.
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "scripts/test.sh: pytest collected no tests" >&2
fi
exit "$status"
