"""Take the documentation screenshots of the demo: ``python docs/screenshots/capture.py``.

Builds a throwaway SQLite database in a temporary folder, migrates it, loads ``seed_demo``,
collects static files, serves the app with gunicorn on a free loopback port, signs in through the
login form as the demo oncologist with headless Debian Chromium (``/usr/bin/chromium``, nothing is
downloaded) and writes ``docs/screenshots/case-page.png`` (1440 x 1000). The server is stopped
and the folder removed whatever happens.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = REPO_ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
USERNAME = "demo.oncologist"
# The first METABRIC patient: on the coming board, with surgery and adjuvant therapy events.
CASE_MRN = "DEMO-0001"
MAX_BYTES = 300_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, check=True)


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /health/ in time")


def _case_id(env: dict[str, str]) -> int:
    code = (
        "from oncology_ui.patients.models import Case;"
        f"print(Case.objects.get(patient__site='demo', patient__mrn='{CASE_MRN}').pk)"
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
        password = json.loads(passwords_file.read_text())[USERNAME]
        case_id = _case_id(env)
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--log-level",
                "warning",
                "oncology_ui.wsgi:application",
            ],  # fmt: skip
            cwd=REPO_ROOT,
            env=env,
        )
        written: list[Path] = []
        try:
            _wait_ready(port, server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    context = browser.new_context(
                        base_url=f"http://127.0.0.1:{port}",
                        viewport={"width": 1440, "height": 1000},
                    )
                    page = context.new_page()
                    page.goto("/login/")
                    page.fill("#id_username", USERNAME)
                    page.fill("#id_password", password)
                    page.click("form button[type=submit]")
                    page.wait_for_url("**/patients/")
                    page.goto(f"/patients/cases/{case_id}/")
                    page.wait_for_selector("#section-board")
                    out_dir.mkdir(parents=True, exist_ok=True)
                    target = out_dir / "case-page.png"
                    page.screenshot(path=str(target), full_page=False)
                    written.append(target)
                finally:
                    browser.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)
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
