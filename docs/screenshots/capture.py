"""Take the documentation screenshots of the demo: ``python docs/screenshots/capture.py``.

Builds a throwaway SQLite database in a temporary folder, migrates it, loads ``seed_demo``,
collects static files, serves the app with gunicorn on a free loopback port, signs in through the
login form as the demo oncologist with headless Debian Chromium (``/usr/bin/chromium``, nothing is
downloaded) and writes (1440 x 1000): ``login.png``; for the first METABRIC case (on the next
board, analysed, ranked and matched by the seed) ``case-page.png``, ``prognosis.png``,
``therapies.png``, ``therapies-whatif.png`` and ``trials.png``; for the composed imaging case,
``pathology.png``, ``slide-viewer.jpg``, ``imaging.png`` and ``imaging-viewer.png``; the tumor
board's ``board-list.png``, ``board-meeting.png`` and ``board-mode.png``; then, as the demo trial
coordinator, ``trial-search.png``, ``trial-detail.png`` and ``worklist.png``; and the case page at
phone width (390 px), ``case-page-phone.png``. The server is stopped and the folder removed
whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
# Run as a file, the script sees only its own folder; the server and browser helpers it shares
# with the web benchmarks and the browser tests are importable from the repository root.
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import _web_server as web  # noqa: E402
from tests.e2e.chromium import launch_chromium, log_in  # noqa: E402

OUT_DIR = REPO_ROOT / "docs" / "screenshots"
USERNAME = "demo.oncologist"
COORDINATOR = "demo.trials"
# The first METABRIC patient: on the coming board, with surgery and adjuvant therapy events.
CASE_MRN = "DEMO-0001"
MAX_BYTES = 400_000


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, check=True)


def _case_id(env: dict[str, str], mrn: str = CASE_MRN) -> int:
    code = (
        "from oncology_ui.patients.models import Case;"
        f"print(Case.objects.get(patient__site='demo', patient__mrn='{mrn}').pk)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(result.stdout.strip().splitlines()[-1])


def _shoot(page: Any, out_dir: Path, name: str, written: list[Path], selector: str = "") -> None:
    if selector:
        page.locator(selector).scroll_into_view_if_needed()
        page.wait_for_load_state("networkidle")  # a section revealed by scrolling loads itself
        # Sections above may have loaded meanwhile and pushed this one down: align it again.
        page.evaluate("s => document.querySelector(s).scrollIntoView()", selector)
        page.wait_for_load_state("networkidle")
    target = out_dir / name
    page.screenshot(path=str(target), full_page=False)
    written.append(target)


def _click_if_there(section: Any, name: str) -> bool:
    """Click a section's action button when it is offered (the seed may have run it already)."""
    section.page.wait_for_load_state("networkidle")  # the revealed section has loaded
    button = section.get_by_role("button", name=name)
    if button.count() == 0:
        return False
    button.first.click()
    return True


def _pages(page: Any, out_dir: Path, written: list[Path], ids: dict[str, int]) -> None:
    """The oncologist's tour: case page, prognosis, therapies, what-if, trials, slides, imaging,
    then the tumor board: list, meeting and board mode."""
    case = ids["case"]
    page.goto(f"/patients/cases/{case}/")
    page.wait_for_selector("#section-board")
    _shoot(page, out_dir, "case-page.png", written)
    _shoot(page, out_dir, "prognosis.png", written, "#section-prognosis")

    therapies = page.locator("#section-therapies")
    therapies.scroll_into_view_if_needed()
    _click_if_there(therapies, "Rank therapy options")
    therapies.locator("text=Knowledge base").first.wait_for(timeout=60_000)
    _shoot(page, out_dir, "therapies.png", written, "#section-therapies")
    boxes = therapies.locator("input[type=checkbox]")
    for index in range(min(2, boxes.count())):
        boxes.nth(index).check()
    therapies.get_by_role("button", name="Compare the chosen options (2 or 3)").click()
    page.wait_for_load_state("networkidle")
    _shoot(page, out_dir, "therapies-whatif.png", written)

    page.goto(f"/patients/cases/{case}/")
    trials = page.locator("#section-trials")
    trials.scroll_into_view_if_needed()
    _click_if_there(trials, "Find trials")
    trials.locator("article.trial-match").first.wait_for(timeout=120_000)
    trials.locator("article.trial-match summary").first.click()
    _shoot(page, out_dir, "trials.png", written, "#section-trials")

    page.goto(f"/patients/cases/{ids['images']}/")
    _shoot(page, out_dir, "pathology.png", written, "#section-pathology")
    _shoot(page, out_dir, "imaging.png", written, "#section-imaging")
    page.locator("#section-pathology a", has_text="Open viewer").first.click()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)  # let OpenSeadragon draw its tiles
    _shoot(page, out_dir, "slide-viewer.jpg", written)
    page.goto(f"/patients/cases/{ids['images']}/")
    page.locator("#section-imaging").scroll_into_view_if_needed()
    page.locator("#section-imaging a", has_text="View").first.click()
    page.wait_for_load_state("networkidle")
    _shoot(page, out_dir, "imaging-viewer.png", written)

    page.goto("/boards/")
    _shoot(page, out_dir, "board-list.png", written)
    # The breast board's meeting: its case is the one the tour above walked through.
    breast = page.locator("tr", has_text="Breast tumor board")
    breast.locator("a[href*='/boards/meetings/']").first.click()
    page.wait_for_load_state("networkidle")
    _shoot(page, out_dir, "board-meeting.png", written)
    page.locator("main a[href$='/board/']").first.click()
    page.wait_for_load_state("networkidle")
    _shoot(page, out_dir, "board-mode.png", written)


def _coordinator_pages(page: Any, out_dir: Path, written: list[Path], case: int) -> None:
    """The trial coordinator's tour: search, a matched trial's page, the work list."""
    page.goto("/trials/?text=HER2+positive+breast+cancer")
    _shoot(page, out_dir, "trial-search.png", written)
    page.goto(f"/patients/cases/{case}/")
    trials = page.locator("#section-trials")
    trials.scroll_into_view_if_needed()
    trials.locator("article.trial-match").first.wait_for(timeout=120_000)
    page.locator("#section-trials article.trial-match a[href^='/trials/NCT']").first.click()
    page.wait_for_load_state("networkidle")
    _shoot(page, out_dir, "trial-detail.png", written)
    page.goto("/trials/worklist/")
    _shoot(page, out_dir, "worklist.png", written)


def _phone_pages(page: Any, out_dir: Path, written: list[Path], case: int) -> None:
    page.goto(f"/patients/cases/{case}/")
    page.wait_for_selector("#section-board")
    _shoot(page, out_dir, "case-page-phone.png", written)


def capture(out_dir: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="oncoboard-shots-") as tmp:
        folder = Path(tmp)
        env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "oncology_ui.settings",
                "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
                "STATIC_ROOT": str(folder / "static"),
                "MEDIA_ROOT": str(folder / "media"),
                "HTTPS": "false",
                "DEBUG": "false",
                "SECRET_KEY": secrets.token_urlsafe(64),
                "LOG_LEVEL": "WARNING",
            }
        )
        passwords_file = folder / "passwords.json"
        _manage(env, "migrate", "--no-input", "-v0")
        _manage(env, "collectstatic", "--no-input", "-v0")
        subprocess.run(
            [sys.executable, "manage.py", "seed_demo", "--password-file", str(passwords_file)],
            cwd=REPO_ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,  # the passwords stay in the temporary file
        )
        passwords = json.loads(passwords_file.read_text())
        ids = {"case": _case_id(env), "images": _case_id(env, "DEMO-IMG1")}
        port = web.free_port()
        # One worker, not pinned to a core: nothing is measured here.
        cores = set(os.sched_getaffinity(0))
        written: list[Path] = []
        with (
            web.gunicorn(env, port, cores, ["--workers", "1"], stop_s=15),
            sync_playwright() as playwright,
        ):
            browser = launch_chromium(playwright)
            try:
                context = browser.new_context(
                    base_url=f"http://127.0.0.1:{port}",
                    viewport={"width": 1440, "height": 1000},
                )
                page = context.new_page()
                out_dir.mkdir(parents=True, exist_ok=True)
                page.goto("/login/")
                _shoot(page, out_dir, "login.png", written)
                log_in(page, USERNAME, passwords[USERNAME])
                _pages(page, out_dir, written, ids)
                coordinator = browser.new_context(
                    base_url=f"http://127.0.0.1:{port}",
                    viewport={"width": 1440, "height": 1000},
                ).new_page()
                log_in(coordinator, COORDINATOR, passwords[COORDINATOR])
                _coordinator_pages(coordinator, out_dir, written, ids["case"])
                phone = browser.new_context(
                    base_url=f"http://127.0.0.1:{port}",
                    viewport={"width": 390, "height": 844},
                    is_mobile=True,
                ).new_page()
                log_in(phone, USERNAME, passwords[USERNAME])
                _phone_pages(phone, out_dir, written, ids["case"])
            finally:
                browser.close()
    for path in written:
        if path.stat().st_size > MAX_BYTES:
            raise SystemExit(f"{path} is {path.stat().st_size} bytes, over {MAX_BYTES}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder for the PNG files")
    args = parser.parse_args(argv)
    for path in capture(args.out):
        sys.stdout.write(f"wrote {path} ({path.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
