#!/usr/bin/env bash
# Release smoke test: what a user gets from `pip install tilelsp-<version>-py3-none-any.whl`.
#
#   scripts/smoke_release.sh [REPO] > report.md
#
# From a clean clone of REPO (default: this checkout; only committed files), it builds the wheel with
# `python -m build`, installs it into a fresh venv (dependencies, apache-tvm included, come from the
# package index: slow but real), then checks, from that venv only:
#   - tilelint / tilelsp / tilec --version print the wheel's version;
#   - `tilelint examples/` prints the buggy examples' findings and exits 1 (README's quick start);
#   - `tilec run examples/softmax.py` builds a kernel through TVM and runs it on the CPU (README's example);
#   - `tilelsp --stdio` answers initialize (serverInfo), shutdown, and exits 0 after exit.
# A Markdown report goes to stdout (benchmarks/results/release_smoke.md is one); progress and the
# commands' output go to stderr. Exit status 0 when every check passes. Not part of pytest (minutes).
#
# Environment: PYTHON (default python3, 3.11+) makes the venvs; KEEP=1 keeps the work folder.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
repo=${1:-$here}
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/tilelsp-smoke.XXXXXX")
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; fi

log() { printf '%s\n' "$*" >&2; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
failures=0
results=()
check() {  # check NAME OK(0|1) DETAIL
  if [ "$2" = 0 ]; then results+=("| $1 | ok | $3 |"); else results+=("| $1 | **FAILED** | $3 |"); failures=$((failures + 1)); fi
}

log "+ git clone $repo $work/src"
git clone -q "$repo" "$work/src"
commit=$(git -C "$work/src" rev-parse --short HEAD)
cd "$work/src"

# -- build (the build front end in its own venv unless PYTHON already has it)
t0=$(now)
if "$python" -c 'import build' 2>/dev/null; then
  builder=$python
else
  "$python" -m venv "$work/buildenv" && "$work/buildenv/bin/pip" install -q 'build>=1' >&2
  builder=$work/buildenv/bin/python
fi
log "+ python -m build --wheel"
"$builder" -m build --wheel --outdir "$work/dist" . >&2
t_build=$(secs "$t0" "$(now)")
wheel=$(ls "$work"/dist/*.whl)
wheel_name=$(basename "$wheel")
wheel_bytes=$(wc -c < "$wheel")
version=$("$python" -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
print(next(l.split(': ', 1)[1] for n in z.namelist() if n.endswith('.dist-info/METADATA') \
for l in z.read(n).decode().splitlines() if l.startswith('Version: ')))" "$wheel")

# -- install into a fresh venv
t0=$(now)
"$python" -m venv "$work/venv"
log "+ pip install $wheel_name (fresh venv)"
"$work/venv/bin/pip" install -q --disable-pip-version-check "$wheel" >&2
t_install=$(secs "$t0" "$(now)")
bin=$work/venv/bin
site=$("$bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
pip_sources=$("$bin/pip" config list 2>/dev/null | grep -E 'index-url|find-links' | tr '\n' ' ' || true)
tvm_version=$("$bin/python" -c 'import importlib.metadata as m; print(m.version("apache-tvm"))' 2>/dev/null || echo '?')

# -- the three commands
cd "$work"  # outside the clone: nothing may come from the source tree
installed=$("$bin/python" -c 'import tilelsp, analyzer.catalog, compiler; print(tilelsp.__file__)')
case "$installed" in "$site"/*) ok=0 ;; *) ok=1 ;; esac
check "the packages import from the venv, not the clone" "$ok" "\`$installed\`"
for cmd in tilelint tilelsp tilec; do
  out=$("$bin/$cmd" --version 2>&1) && rc=0 || rc=$?
  log "$cmd --version: $out (exit $rc)"
  case "$out" in "$cmd $version"*) ok=$rc ;; *) ok=1 ;; esac
  check "\`$cmd --version\`" "$ok" "\`$out\`"
done

cd "$work/src"
t0=$(now)
"$bin/tilelint" examples/ > "$work/lint.txt" 2>&1 && rc=0 || rc=$?
t_lint=$(secs "$t0" "$(now)")
cat "$work/lint.txt" >&2
findings=$(grep -cE '^[^ ]+:[0-9]+:[0-9]+: ' "$work/lint.txt" || true)
errors=$(grep -cE ': error TL' "$work/lint.txt" || true)
files=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: ' "$work/lint.txt" | cut -d: -f1 | sort -u | grep -c . || true)
outside=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: ' "$work/lint.txt" | grep -vc '^examples/buggy/' || true)
[ "$rc" = 1 ] && [ "$errors" -gt 0 ] && [ "$outside" = 0 ] && ok=0 || ok=1
check "\`tilelint examples/\` exits 1 with the buggy examples' findings" "$ok" \
  "exit $rc, $findings findings ($errors errors) in $files files, $outside outside examples/buggy/, ${t_lint} s"

t0=$(now)
"$bin/tilec" run examples/softmax.py --instantiate 'softmax(1000, 512, 64)' > "$work/tilec.txt" 2>&1 && rc=0 || rc=$?
t_tilec=$(secs "$t0" "$(now)")
cat "$work/tilec.txt" >&2
check "\`tilec run examples/softmax.py\` (TVM, CPU; README's example)" "$rc" "exit $rc, ${t_tilec} s: $(tail -n 1 "$work/tilec.txt")"

# -- the language server over stdio: initialize, initialized, shutdown, exit
t0=$(now)
cat > "$work/lsp_check.py" <<'EOF'
import json, subprocess, sys, pathlib

server, root = sys.argv[1], pathlib.Path(sys.argv[2])
proc = subprocess.Popen([server, "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

def send(msg):
    body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
    proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    proc.stdin.flush()

def answer(want):
    while True:
        length = None
        while (line := proc.stdout.readline().strip()):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if length is None:
            raise SystemExit("the server closed its output")
        msg = json.loads(proc.stdout.read(length))
        if msg.get("id") == want:
            return msg

send({"id": 1, "method": "initialize", "params": {"processId": None, "rootUri": root.as_uri(), "capabilities": {}}})
init = answer(1)["result"]
send({"method": "initialized", "params": {}})
send({"id": 2, "method": "shutdown", "params": None})
down = answer(2)
send({"method": "exit", "params": None})
proc.stdin.close()
code = proc.wait(timeout=30)
info = init.get("serverInfo", {})
print(f"serverInfo {info.get('name')} {info.get('version')}, {len(init['capabilities'])} capabilities, "
      f"shutdown result {down.get('result')!r}, exit status {code}")
sys.exit(0 if code == 0 and "error" not in down else 1)
EOF
lsp=$("$bin/python" "$work/lsp_check.py" "$bin/tilelsp" "$work/src" 2>&1) && rc=0 || rc=$?
t_lsp=$(secs "$t0" "$(now)")
log "tilelsp --stdio: $lsp (exit $rc)"
case "$lsp" in *"serverInfo tilelsp $version,"*) ok=$rc ;; *) ok=1 ;; esac
check "\`tilelsp --stdio\`: initialize, shutdown, exit" "$ok" "$lsp, ${t_lsp} s"

# -- the report
cat <<EOF
# Release smoke test

\`scripts/smoke_release.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$commit\` (a clean clone), Python \
$("$python" -c 'import platform; print(platform.python_version())'), $(uname -sm).

- wheel: \`$wheel_name\`, $wheel_bytes bytes ($(awk -v b="$wheel_bytes" 'BEGIN { printf "%.0f", b / 1024 }') KiB), built in ${t_build} s
- \`pip install\` of the wheel into a fresh venv (dependencies from the package index, apache-tvm $tvm_version): ${t_install} s
- pip's package sources here: ${pip_sources:-PyPI (no pip configuration)}

| check | result | detail |
|---|---|---|
EOF
printf '%s\n' "${results[@]}"
cat <<EOF

\`tilelint examples/\` (from the installed wheel):

\`\`\`
$(cat "$work/lint.txt")
\`\`\`
EOF
log "smoke test: $failures failed check(s)"
[ "$failures" = 0 ]
