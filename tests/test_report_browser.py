"""report.html and training.html in a real browser: nothing overflows the page, every figure loads.

Headless Chromium (``chromium``, ``chromium-browser`` or ``google-chrome`` on PATH; `.ci/run`
installs Debian's) opens a copy of each page with :data:`PROBE` appended: after the load event it
writes into the DOM (``<pre id="agora-check">``) every element whose right edge passes the viewport,
every element whose content is wider than its box (scrollWidth > clientWidth: a sideways scroll or
a spill), and every ``<img>`` / ``<svg>`` that did not load or has no size; ``--dump-dom`` hands the
DOM back. The probe itself is tested on a planted page with a sideways ``<pre>`` and a broken image.
Set ``AGORA_SCREENSHOTS=DIR`` to keep a screenshot of each page there, for a person to look at.
Without a browser every test here skips, saying why.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
BROWSER = next((path for name in BROWSERS if (path := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason=f"no headless browser on PATH ({', '.join(BROWSERS)}); .ci/run installs Debian's chromium"
)

#: Appended to a page: after load, what overflows and which figures failed, as JSON in <pre id="agora-check">.
PROBE = """
<script>
window.addEventListener("load", function () {
  var W = document.documentElement.clientWidth;
  var out = {width: W, overflow: [], scroll: [], images: [], loaded: 0, svgs: 0};
  function name(el) {
    var cls = typeof el.className === "string" ? el.className.trim() : "";
    var c = cls ? "." + cls.split(/\\s+/).join(".") : "";
    return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + c;
  }
  var all = document.body.querySelectorAll("*");
  for (var i = 0; i < all.length; i++) {
    var el = all[i], r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > W + 1) out.overflow.push(name(el) + " right=" + Math.round(r.right));
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
      out.scroll.push(name(el) + " " + el.scrollWidth + ">" + el.clientWidth);
  }
  document.querySelectorAll("img").forEach(function (img) {
    var r = img.getBoundingClientRect();
    if (!img.complete || img.naturalWidth === 0 || r.width < 1 || r.height < 1)
      out.images.push((img.alt || "img").slice(0, 60) + " " + img.naturalWidth + "x" + img.naturalHeight);
    else out.loaded++;
  });
  document.querySelectorAll("svg").forEach(function (svg) {
    var r = svg.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) out.images.push("svg " + name(svg)); else out.svgs++;
  });
  var pre = document.createElement("pre");
  pre.id = "agora-check";
  pre.style.whiteSpace = "pre-wrap";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""
FLAGS = ["--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars",
         "--virtual-time-budget=5000"]


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    done = subprocess.run([BROWSER, *FLAGS, *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{BROWSER} failed ({done.returncode}): {done.stderr[-2000:]}"
    return done


def probe(page: Path, width: int, work: Path) -> dict[str, Any]:
    """What :data:`PROBE` finds on ``page`` in a ``width`` × 900 window (a copy in ``work`` is opened)."""
    copy = work / f"probe-{width}-{page.name}"
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium(f"--window-size={width},900", "--dump-dom", copy.as_uri()).stdout
    found = re.search(r'<pre id="agora-check"[^>]*>(.*?)</pre>', dom, flags=re.S)
    assert found, f"the probe did not report (no <pre id='agora-check'> in the DOM of {page.name})"
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


def screenshot(page: Path, width: int, height: int) -> Path | None:
    """A screenshot of the page's top ``height`` pixels into $AGORA_SCREENSHOTS (None when it is not set)."""
    folder = os.environ.get("AGORA_SCREENSHOTS")
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    shot = Path(folder) / f"{page.stem}-{width}.png"
    _chromium(f"--window-size={width},{height}", f"--screenshot={shot}", page.as_uri())
    assert shot.stat().st_size > 0
    return shot


# ---------------------------------------------------------------------------- the probe, planted
def test_the_probe_sees_a_sideways_pre_and_a_broken_image(tmp_path: Path) -> None:
    page = tmp_path / "planted.html"
    page.write_text(
        "<!DOCTYPE html><html><body><main style='max-width:40rem'>"
        f"<pre id='wide' style='overflow-x:auto'>{'why the claim failed ' * 30}</pre>"
        "<img id='broken' alt='a broken figure' src='data:image/png;base64,AAAA'>"
        f"<p><code id='long'>{'x' * 400}</code></p>"
        "</main></body></html>"
    )
    found = probe(page, 1280, tmp_path)
    assert any(s.startswith("pre#wide") for s in found["scroll"])
    assert any(s.startswith("a broken figure") for s in found["images"])
    assert any(s.startswith("code#long") for s in found["overflow"])
    assert found["loaded"] == 0


# ---------------------------------------------------------------------------- real reports
@pytest.fixture(scope="module")
def check_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A real `verify.check` of solitary Bucket Brigade with failing claims, written as a report."""
    import mechanism
    import verify
    from reports.markdown import write_verdict_report
    from verify.records import verdict_rows

    out = tmp_path_factory.mktemp("check")
    verdicts = verify.check(mechanism.MECHANISMS["first_price"], clones=[1], budget=5, seed=0,
                            claims=["truthful", "conserves_credit", "q_star_farsighted_equilibrium"])
    rows = verdict_rows(verdicts, {"command": "agora check", "mechanisms": "first_price"})
    write_verdict_report(out, rows)
    failed = sum(1 for r in rows if not r["holds"])
    assert failed == 2  # truthful and farsighted equilibrium (DESIGN §1): two counterexamples to draw
    return out, failed


@pytest.fixture(scope="module")
def training_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from reports.cli import main

    out = tmp_path_factory.mktemp("training")
    args = ["train", "chain/0", "--mechanism", "ccv", "--clones", "1,2", "--steps", "320", "--seeds", "2",
            "--episodes", "4", "--no-progress", "--out", str(out)]
    assert main(args) == 0
    return out


@pytest.mark.parametrize("width", [1280, 800])
def test_the_check_report_fits_the_page_and_every_figure_loads(check_folder: tuple[Path, int], width: int,
                                                               tmp_path: Path) -> None:
    folder, failed = check_folder
    found = probe(folder / "report.html", width, tmp_path)
    assert found["overflow"] == []
    assert found["scroll"] == []
    assert found["images"] == []
    assert found["loaded"] == 1 + failed  # the heat-map and every drawn counterexample
    screenshot(folder / "report.html", width, 6000)


@pytest.mark.parametrize("width", [1280, 800])
def test_the_training_report_fits_the_page_and_every_figure_loads(training_folder: Path, width: int,
                                                                  tmp_path: Path) -> None:
    found = probe(training_folder / "training.html", width, tmp_path)
    assert found["overflow"] == []
    assert found["scroll"] == []
    assert found["images"] == []
    assert found["loaded"] == 3  # bids vs Q*, error curves, final errors
    screenshot(training_folder / "training.html", width, 4000)


def test_the_widest_tables_fit_at_800_pixels(tmp_path: Path) -> None:
    # The widest tables Agora writes (a reproduction's main and sample-efficiency tables: ten columns of
    # "median [min, max]" and "never (0 of 10 seeds)"), rendered from the model without running anything.
    from reports.model import Report, Section, Table
    from reports.render import render_html

    main = Table(("learner", "society", "steps", "final max error", "optimal-bid error", "vs fixed point", "regret",
                  "steps to 0.05", "steps to 0.01", "optimal primitive wins"),
                 tuple(("policy_gradient", "Environment Reward, solitary", "800,000", "0.792 [0.792, 0.792]",
                        "0.463 [0.451, 0.475]", "0.499 [0.485, 0.514]", "0.768 [0.768, 0.768]",
                        "never (0 of 10 seeds)", "640,000 over 1 of 10; 9 never", "100% [100%, 100%]")
                       for _ in range(3)))
    sample = Table(("budget", "society", "learner", "error", "society to 0.05", "q_learning to 0.05", "ratio",
                    "society to 0.01", "q_learning to 0.01", "ratio"),
                   (("800,000", "Bucket Brigade, solitary", "policy_gradient", "optimal bid", "never (0 of 10 seeds)",
                     "640,000 over 1 of 10; 9 never", "—", "never (0 of 10 seeds)", "576,000 over 10 of 10", "1.0"),))
    page = tmp_path / "wide.html"
    page.write_text(render_html(Report("training", "wide", sections=(Section("chain", "chain", (main, sample)),))))
    found = probe(page, 800, tmp_path)
    assert found["overflow"] == []
    assert found["scroll"] == []
