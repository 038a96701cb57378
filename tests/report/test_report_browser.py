"""Render the report in headless Chromium: every heading shows and every image decodes.

Needs Debian's `chromium` package (`make chromium`); skipped without it, except under CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from report_workspace import build_workspace

from instructmining.report import build_report
from instructmining.report.sections import SECTIONS

CHROMIUM = shutil.which("chromium")
IMAGE_SECTIONS = ["distributions", "correlations", "runs", "fit", "coefficients", "ablation",
                  "eval-sets", "search", "compare"]  # fmt: skip

# Injected into a copy of the page: records what the browser actually rendered on <body>.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const b = document.body.dataset;
  b.imagesTotal = images.length;
  b.imagesOk = images.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0).length;
  b.headings = [...document.querySelectorAll("h2[id]")]
    .filter(h => h.offsetHeight > 0).map(h => h.id).join(",");
  b.sectionsWithImages = [...document.querySelectorAll("section")]
    .filter(s => [...s.querySelectorAll("img")].some(i => i.naturalWidth > 0))
    .map(s => s.querySelector("h2").id).join(",");
});
</script>"""


def chromium(*args: str, profile: Path) -> str:
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (apt-get install -y chromium)")
        pytest.skip("chromium not installed (apt-get install -y chromium, or `make chromium`)")
    root = tmp_path_factory.mktemp("browser")
    ws = build_workspace(root / "ws")
    html = build_report(ws, root / "report.html").read_text(encoding="utf-8")
    probed = root / "probed.html"
    probed.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    return probed


def test_every_heading_and_image_renders(page: Path, tmp_path: Path) -> None:
    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    body = re.search(r"<body([^>]*)>", dom).group(1)
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body))
    assert attrs, "the probe did not run"
    assert int(attrs["images-total"]) >= len(IMAGE_SECTIONS)
    assert attrs["images-ok"] == attrs["images-total"], "some image did not decode"
    assert attrs["headings"].split(",") == [s.id for s in SECTIONS]
    assert attrs["sections-with-images"].split(",") == IMAGE_SECTIONS


def test_screenshot_is_not_blank(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,4000", page.as_uri(),
             profile=tmp_path / "profile")  # fmt: skip
    image = Image.open(shot).convert("L")
    assert image.size == (1280, 4000)
    assert ImageStat.Stat(image).stddev[0] > 20  # text and plots, not an empty page
