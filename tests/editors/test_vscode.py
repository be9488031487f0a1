"""The VS Code extension (`editors/vscode`): install, lint, build, package, and its tests against this server.

Runs in `editors/vscode` what a developer runs there: `npm ci`, `npm run lint` (tsc --noEmit + eslint),
`npm run compile` (tsc), `npm run bundle` / `npm run package` (esbuild, vsce: `tilelsp-<version>.vsix`), and
`npm test` (node --test): unit tests of the extension's non-UI modules, the extension's protocol code over
stdio against `python -m tilelsp --stdio` of this checkout, and `extension.ts` itself with the real
vscode-languageclient under a stand-in `vscode` module (start, diagnostics, hover, code lens, commands,
trust, crash restarts with back-off). The server is this interpreter with this checkout on PYTHONPATH.

Skips only when `node` or `npm` is missing; `npm ci` needs the npm registry (CI can reach it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "editors" / "vscode"
NODE = shutil.which("node")
NPM = shutil.which("npm")
#: The .vsix holds the bundle, the manifest, the README and the notices: about 130 KiB.
VSIX_LIMIT = 512 * 1024

pytestmark = pytest.mark.skipif(NODE is None or NPM is None, reason="node and npm are needed for the VS Code extension")


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["TILELSP_PYTHON"] = sys.executable
    env["TILELSP_REPO"] = str(ROOT)
    env.update(npm_config_audit="false", npm_config_fund="false", npm_config_update_notifier="false",
               NO_COLOR="1", FORCE_COLOR="0")
    return env


def npm(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    proc = subprocess.run([NPM, *args], cwd=EXTENSION, env=environment(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
    print(f"npm {' '.join(args)}: exit {proc.returncode} in {time.monotonic() - started:.1f} s")
    assert proc.returncode == 0, f"npm {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    return proc


@pytest.fixture(scope="module")
def built() -> Path:
    """`npm ci` (lifecycle scripts off: nothing the build needs runs at install), then tsc and the bundle."""
    npm("ci", "--ignore-scripts", "--no-audit", "--no-fund", timeout=600)
    npm("run", "compile")
    npm("run", "bundle")
    return EXTENSION


def test_lint(built: Path) -> None:
    npm("run", "lint")


def test_package_makes_a_small_vsix(built: Path) -> None:
    manifest = json.loads((built / "package.json").read_text(encoding="utf-8"))
    vsix = built / f"tilelsp-{manifest['version']}.vsix"
    vsix.unlink(missing_ok=True)
    npm("run", "package")
    assert vsix.is_file()
    size = vsix.stat().st_size
    print(f"{vsix.name}: {size} bytes ({size / 1024:.1f} KiB)")
    assert size < VSIX_LIMIT, f"{vsix.name} is {size} bytes"
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        packaged = json.loads(archive.read("extension/package.json"))
    assert {"extension/package.json", "extension/dist/extension.js", "extension/dist/THIRD_PARTY_NOTICES.txt"} <= names
    assert not [n for n in names if n.startswith(("extension/node_modules/", "extension/src/", "extension/out/"))]
    assert packaged["main"] == "./dist/extension.js"
    assert packaged["capabilities"]["untrustedWorkspaces"]["supported"] == "limited"


def test_node_tests_against_the_real_server(built: Path) -> None:
    proc = npm("test", timeout=300)
    out = proc.stdout + proc.stderr
    counts = {key: int(value) for key, value in re.findall(r"^[ℹ#] (tests|pass|fail|cancelled|skipped|todo) (\d+)$",
                                                          out, re.MULTILINE)}
    print(out[-4000:])
    assert counts.get("fail") == 0 and counts.get("cancelled") == 0 and counts.get("skipped") == 0, counts
    assert counts.get("tests", 0) >= 20 and counts["pass"] == counts["tests"], counts
    # the server's answers, as the tests printed them
    assert re.search(r"^diagnostic: TL101 21:10 shared memory 128\.0 KiB \(131072 B\) exceeds sm_86's", out, re.MULTILINE)
    assert re.search(r"^hover: \*\*A_shared\*\*: shared\.dyn buffer `\(128, 64\)` float16", out, re.MULTILINE)
    assert "code lens: tilec cpu: built in " in out
    # extension.ts was tested as it ships (the esbuild bundle), with the real language client
    assert "the extension (dist/extension.js) under a stand-in vscode module" in out
    for name in ("starts the server for a file that imports tilelang",
                 "the language client pulls TL101, and shows the hover and the code lens of the open file",
                 "restarts a crashed server after 1 s, then 2 s (a command meanwhile waits), then gives up after "
                 "tilelsp.maxRestarts",
                 "an interpreter without tilelsp: crashed, with a hint, no restart loop"):
        assert re.search(rf"✔ {re.escape(name)}", out), name
