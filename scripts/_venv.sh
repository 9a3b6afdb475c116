# Sourced by scripts/demo and scripts/test: create (or reuse) .venv and install authkit
# with the extras named in $AUTHKIT_EXTRAS. Re-installs only when pyproject.toml changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AUTHKIT_VENV:-$root/.venv}"
extras="${AUTHKIT_EXTRAS:-}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
spec="$root"
[ -n "$extras" ] && spec="$root[$extras]"
stamp="$venv/.authkit-installed-$(sha256sum "$root/pyproject.toml" | cut -c1-16)-${extras:-core}"
if [ ! -f "$stamp" ]; then
    # xmlsec and lxml must come as wheels built against the same libxml2.
    "$venv/bin/python" -m pip install --quiet --only-binary=lxml,xmlsec -e "$spec"
    touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
