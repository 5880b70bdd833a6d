"""The HTML report opened in a real browser (headless Chromium): the charts decode and show,
and nothing a post author wrote turns into markup.

Needs the Debian package `chromium` (CI installs it); there is no fallback, because a report
only "exists" on disk proves nothing about what marketing will see.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from listenpost.config import Settings
from reports.build import build
from reports.html import write_html
from storage import Store
from tests.reports.conftest import END, START, XSS

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
]
# Appended to a copy of the report (whose CSP allows no script): records, once the page has
# loaded, how wide each <img> decoded to (0 = a broken image).
MEASURE = (
    "<script>window.addEventListener('load', () => document.body.setAttribute('data-widths',"
    " [...document.images].map(i => i.complete ? i.naturalWidth : -1).join(',')));</script>"
)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "headless Chromium is needed to check the report renders: apt-get install chromium"
        )
    return found


def _run(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [_chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory, store: Store, settings: Settings) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    write_html(build(store, settings, START, END), path)
    return path


def test_every_chart_decodes_in_the_browser(tmp_path: Path, report_file: Path) -> None:
    page = report_file.read_text()
    measured = tmp_path / "measured.html"
    without_csp = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    measured.write_text(without_csp.replace("</body>", MEASURE + "</body>"))
    dom = _run(tmp_path, "--dump-dom", measured.as_uri())
    widths = re.search(r'data-widths="([^"]*)"', dom)
    assert widths is not None, "the page never finished loading"
    assert [int(w) for w in widths.group(1).split(",")] == [900] * 9


def test_the_report_as_shipped_shows_charts_and_no_injected_markup(
    tmp_path: Path, report_file: Path
) -> None:
    dom = _run(tmp_path, "--dump-dom", report_file.as_uri())
    assert 'src="x"' not in dom and "onerror" not in dom.replace("onerror=alert(1)&gt;", "")
    assert XSS.replace("<", "&lt;").replace(">", "&gt;") in dom  # shown as text

    shot = tmp_path / "shot.png"
    _run(tmp_path, f"--screenshot={shot}", "--window-size=1000,1800", report_file.as_uri())
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 1800)
    colors = image.getcolors(maxcolors=1 << 20) or []
    assert len(colors) > 100, "the page rendered (almost) flat"
    counts = {rgb: n for n, rgb in colors}
    # Chart-only colours (the page's CSS uses neither): the volume line, the negative layer.
    assert counts.get((0x33, 0x66, 0xCC), 0) > 200, "the volume chart is not on screen"
    assert counts.get((0xD6, 0x45, 0x45), 0) > 200, "the sentiment chart is not on screen"
