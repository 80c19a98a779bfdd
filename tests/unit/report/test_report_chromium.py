"""report.html in a real browser: headless Chromium loads every image after the run folder was moved.

A copy of the page gets a small script that, on `load`, writes for every <img> whether it decoded
(`complete && naturalWidth > 0`) into the DOM; `--dump-dom` prints the DOM after the load. Chromium
missing is a failure under CI (.ci/run installs it) and a skip on a developer machine without it.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from unit.report.helpers import parse

CHECK = """<script>
window.addEventListener("load", () => {
  const out = [...document.images].map(i => ({src: i.getAttribute("src"), ok: i.complete && i.naturalWidth > 0,
                                               width: i.naturalWidth}));
  const pre = document.createElement("pre");
  pre.id = "imgcheck";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--allow-file-access-from-files"]


@pytest.fixture
def chromium() -> str:
    """The Chromium binary; fail under CI when it is missing, skip elsewhere (before building the run)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs the Debian package `chromium`")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs this test")
    return exe


def image_report(exe: str, page: Path, profile: Path) -> list[dict]:
    """What Chromium says about every <img> of `page` once it has loaded."""
    check = page.with_name("imgcheck.html")  # beside the page, so relative image paths resolve the same way
    check.write_text(page.read_text(encoding="utf-8").replace("</body>", CHECK + "\n</body>"), encoding="utf-8")
    done = subprocess.run(
        [exe, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", check.as_uri()],
        check=False, capture_output=True, text=True, timeout=120,
    )
    found = re.search(r'<pre id="imgcheck">(.*?)</pre>', done.stdout, re.DOTALL)
    assert found, f"no image report from chromium (rc {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def test_every_image_loads_in_headless_chromium(chromium, rendered, tmp_path):
    exe = chromium
    run, _, _ = rendered
    moved = tmp_path / "served" / run.name  # the report must work from wherever the folder is copied
    shutil.copytree(run, moved)
    expected = parse((moved / "report.html").read_text()).images
    images = image_report(exe, moved / "report.html", tmp_path / "profile")
    assert [i["src"] for i in images] == expected and len(expected) >= 8
    broken = [i["src"] for i in images if not i["ok"]]
    assert not broken, f"images that did not load: {broken}"
    assert all(i["width"] >= 300 for i in images)

    (moved / "plots" / "zipf.png").unlink()  # the check itself notices a missing image
    again = image_report(exe, moved / "report.html", tmp_path / "profile")
    assert [i["src"] for i in again if not i["ok"]] == ["plots/zipf.png"]
