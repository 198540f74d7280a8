"""The server imports only what serving needs, so the image stays slim and starts fast."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("docker", "kubernetes", "modelci.train", "modelci.gate", "modelci.cli", "modelci.config",
             "modelci.deploy", "modelci.image", "modelci.verify", "modelci.github", "sklearn", "pandas", "scipy")


def test_serve_package_imports_nothing_it_does_not_need() -> None:
    code = ("import json, sys\n"
            "import modelci.serve.app, modelci.serve.server, modelci.serve.bundle, modelci.serve.loader\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    loaded = json.loads(out)
    bad = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == []
