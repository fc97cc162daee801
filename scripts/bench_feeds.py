"""Benchmark: a cached private feed served by huiqi, beside nginx serving the same bytes.

Usage: python scripts/bench_feeds.py [--seconds S] [--connections C]
Needs wrk and nginx (Debian packages). Everything listens on 127.0.0.1. Reports requests
per second for a full 200 and a conditional 304, for huiqi (one uvicorn process) and nginx
(one worker), and their ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import uvicorn

from bot._app import create_app
from bot._service import World
from bot._settings import Settings
from schedulers import RecordingChannel
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab

PROFILE = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "fixtures"
    / "profiles"
    / "hightech-electronics.json"
)
NGINX_CONF = """worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  server {{
    listen 127.0.0.1:{port};
    root {dir}/www;
    location / {{ default_type "text/calendar; charset=utf-8"; etag on; }}
  }}
}}
"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, seconds: int, connections: int, header: str | None = None) -> float:
    """Requests per second that wrk measures for `url`."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if header:
        command[1:1] = ["-H", header]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not found:
        raise RuntimeError(out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} error responses from {url}")
    return float(found.group(1))


def main(argv: list[str]) -> int:
    """Run both servers, measure, print."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv[1:])
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if shutil.which("wrk") is None or not Path(nginx).exists():
        print("needs wrk and nginx: apt-get install wrk nginx", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        world = World(load_catalog(), load_vocab(), load_size_standard())
        port = free_port()
        now = dt.datetime.now(tz=dt.UTC)
        app = create_app(
            Settings(database_url=f"sqlite:///{Path(tmp) / 'huiqi.db'}", port=port),
            world,
            channels={"console": RecordingChannel(clock=lambda: now)},
        )
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        store = app.state.runtime.store
        raw = json.loads(PROFILE.read_text(encoding="utf-8"))
        token = store.tokens.issue_token(
            store.registry.save_enterprise(raw["name"], raw, now=now), now=now
        )
        huiqi_url = f"http://127.0.0.1:{port}/feeds/e/{token}.ics"
        with urllib.request.urlopen(huiqi_url) as response:  # noqa: S310 - our own local server
            body, etag = response.read(), response.headers["ETag"]

        www = Path(tmp) / "www"
        www.mkdir()
        (www / "feed.ics").write_bytes(body)
        for path in (Path(tmp), www, www / "feed.ics"):  # nginx workers run unprivileged
            path.chmod(0o755)
        nginx_port = free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=tmp, port=nginx_port), encoding="utf-8")
        subprocess.run([nginx, "-e", f"{tmp}/error.log", "-c", str(conf)], check=True)  # noqa: S603
        try:
            nginx_url = f"http://127.0.0.1:{nginx_port}/feed.ics"
            with urllib.request.urlopen(nginx_url) as response:  # noqa: S310 - our own local server
                nginx_etag = response.headers["ETag"]
            results = {
                "huiqi 200": wrk(huiqi_url, args.seconds, args.connections),
                "huiqi 304": wrk(
                    huiqi_url, args.seconds, args.connections, f"If-None-Match: {etag}"
                ),
                "nginx 200": wrk(nginx_url, args.seconds, args.connections),
                "nginx 304": wrk(
                    nginx_url, args.seconds, args.connections, f"If-None-Match: {nginx_etag}"
                ),
            }
        finally:
            stop = [nginx, "-e", f"{tmp}/error.log", "-c", str(conf), "-s", "stop"]
            subprocess.run(stop, check=False)  # noqa: S603 - our own nginx
        server.should_exit = True
    print(f"feed: {len(body):,} bytes; wrk -t2 -c{args.connections} -d{args.seconds}s on 127.0.0.1")
    for name, rps in results.items():
        print(f"{name}: {rps:,.0f} requests/s")
    full = results["huiqi 200"] / results["nginx 200"]
    cond = results["huiqi 304"] / results["nginx 304"]
    print(f"huiqi/nginx: 200 {full:.1%}, 304 {cond:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
