"""Start Pushpin in front of the web workers, from deploy/pushpin.conf and deploy/routes.

    python deploy/pushpin.py --port 8000 --workers 127.0.0.1:8001,127.0.0.1:8002 --run-dir deploy/run

It renders the templates into the run directory (ports, worker targets, and
the signing key taken from ``GRIP_URL``'s ``key``), then replaces itself with
Pushpin, so a process manager's SIGTERM reaches Pushpin directly. The control
port (where ``GRIP_URL`` points) comes from ``GRIP_URL`` too; Pushpin's other
internal TCP ports are the control port -1, +1 and +2, as in Debian's layout
(5560-5563), so instances with different control ports do not collide.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from string import Template
from urllib.parse import parse_qs, urlsplit

DEPLOY = Path(__file__).resolve().parent
DEFAULT_GRIP_URL = "http://127.0.0.1:5561/?iss=pushpin&key=changeme"


def grip_settings(grip_url: str) -> tuple[int, str]:
    """The control port and signing key named by a ``GRIP_URL``."""
    parts = urlsplit(grip_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"GRIP_URL must point at this machine's Pushpin, not {parts.hostname}")
    key = parse_qs(parts.query).get("key", [""])[0]
    if not key:
        raise SystemExit("GRIP_URL needs a key=... (Pushpin signs requests with it; workers verify them)")
    return parts.port or 5561, key


def render(
    *, run_dir: Path, port: int, workers: list[str], grip_url: str, log_level: int, message_hwm: int
) -> Path:
    """Write pushpin.conf and routes for one instance into ``run_dir``; returns the config path."""
    control_port, key = grip_settings(grip_url)
    run_dir.mkdir(parents=True, exist_ok=True)
    values = {
        "deploy_dir": str(DEPLOY),
        "run_dir": str(run_dir),
        "http_port": str(port),
        "control_port": str(control_port),
        "push_port": str(control_port - 1),
        "push_sub_port": str(control_port + 1),
        "command_port": str(control_port + 2),
        "sig_key": key,
        "log_level": str(log_level),
        "message_hwm": str(message_hwm),
        # Streams start at the second worker, the rest at the first; each route
        # lists every worker, so it fails over to the others (see deploy/routes).
        "default_targets": " ".join(workers),
        "stream_targets": " ".join(workers[1:] + workers[:1]),
    }
    config = run_dir / "pushpin.conf"
    config.write_text(Template((DEPLOY / "pushpin.conf").read_text()).substitute(values))
    (run_dir / "routes").write_text(Template((DEPLOY / "routes").read_text()).substitute(values))
    return config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--workers", required=True, help="comma-separated host:port of the web workers, e.g. 127.0.0.1:8001"
    )
    parser.add_argument("--run-dir", type=Path, default=DEPLOY / "run")
    parser.add_argument("--grip-url", default=os.environ.get("GRIP_URL") or DEFAULT_GRIP_URL)
    parser.add_argument("--log-level", type=int, default=1, help="Pushpin's: 0 errors .. 3 debug")
    parser.add_argument("--message-hwm", type=int, default=200_000)
    args = parser.parse_args(argv)
    pushpin = shutil.which("pushpin")
    if pushpin is None:
        raise SystemExit("pushpin is not installed: apt-get install -y pushpin")
    workers = [worker.strip() for worker in args.workers.split(",") if worker.strip()]
    config = render(
        run_dir=args.run_dir.resolve(),
        port=args.port,
        workers=workers,
        grip_url=args.grip_url,
        log_level=args.log_level,
        message_hwm=args.message_hwm,
    )
    sys.stdout.flush()
    # Replace this process, so the process manager's signals reach Pushpin.
    os.execv(pushpin, [pushpin, "--config", str(config), "--merge-output"])  # noqa: S606


if __name__ == "__main__":
    main()
