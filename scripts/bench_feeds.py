"""Benchmark: the home page, /api/policies and a private feed served by huiqi, beside nginx
serving the same bytes.

Usage: python scripts/bench_feeds.py [--seconds S] [--connections C]
Needs wrk and nginx (Debian packages). Everything listens on 127.0.0.1. For each of the three,
reports requests per second and p99 latency of a plain 200, a gzipped 200 and a conditional
304, for huiqi (one uvicorn process) and nginx (one worker, the same plain and gzipped
bytes as files), and their ratios (target: each at least 0.25x, p99 under 50 ms at 32
connections).
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
    types {{ text/html html; application/json json; text/calendar ics; }}
    charset utf-8;
    location / {{ etag on; }}
  }}
}}
"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, seconds: int, connections: int, header: str | None = None) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) that wrk measures for `url`."""
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
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    return float(found.group(1)), latency


def fetch(url: str, gzipped: bool = False) -> tuple[bytes, str]:
    """The body (as sent) and ETag of `url`."""
    request = urllib.request.Request(  # noqa: S310 - our own local servers
        url, headers={"Accept-Encoding": "gzip" if gzipped else "identity"}
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310 - our own local servers
        return response.read(), response.headers["ETag"]


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
        paths = {"GET /": ("/", "index.html"), "/api/policies": ("/api/policies", "policies.json")}
        paths["private feed"] = (f"/feeds/e/{token}.ics", "feed.ics")
        www = Path(tmp) / "www"
        www.mkdir()
        sizes = {}
        for name, (path, file) in paths.items():
            body, _ = fetch(f"http://127.0.0.1:{port}{path}")
            packed, _ = fetch(f"http://127.0.0.1:{port}{path}", gzipped=True)
            (www / file).write_bytes(body)
            (www / f"{file}.gz").write_bytes(packed)
            sizes[name] = (len(body), len(packed))
        for entry in (Path(tmp), www, *www.iterdir()):  # nginx workers run unprivileged
            entry.chmod(0o755)
        nginx_port = free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=tmp, port=nginx_port), encoding="utf-8")
        subprocess.run([nginx, "-e", f"{tmp}/error.log", "-c", str(conf)], check=True)  # noqa: S603
        results: dict[str, dict[str, tuple[float, float]]] = {}
        try:
            for name, (path, file) in paths.items():
                ours = f"http://127.0.0.1:{port}{path}"
                theirs = f"http://127.0.0.1:{nginx_port}/{file}"
                gz_theirs = f"http://127.0.0.1:{nginx_port}/{file}.gz"  # the same gzipped bytes
                _, etag = fetch(ours)
                _, nginx_etag = fetch(theirs)
                gzip_header = "Accept-Encoding: gzip"
                results[name] = {
                    "huiqi 200": wrk(ours, args.seconds, args.connections),
                    "nginx 200": wrk(theirs, args.seconds, args.connections),
                    "huiqi 200 gzip": wrk(ours, args.seconds, args.connections, gzip_header),
                    "nginx 200 gzip": wrk(gz_theirs, args.seconds, args.connections),
                    "huiqi 304": wrk(
                        ours, args.seconds, args.connections, f"If-None-Match: {etag}"
                    ),
                    "nginx 304": wrk(
                        theirs, args.seconds, args.connections, f"If-None-Match: {nginx_etag}"
                    ),
                }
        finally:
            stop = [nginx, "-e", f"{tmp}/error.log", "-c", str(conf), "-s", "stop"]
            subprocess.run(stop, check=False)  # noqa: S603 - our own nginx
        server.should_exit = True
    print(f"wrk -t2 -c{args.connections} -d{args.seconds}s on 127.0.0.1")
    for name, measured in results.items():
        plain_size, gzip_size = sizes[name]
        print(f"{name} ({plain_size:,} bytes, {gzip_size:,} gzipped):")
        for what in ("200", "200 gzip", "304"):
            mine, nginx_r = measured[f"huiqi {what}"], measured[f"nginx {what}"]
            print(
                f"  {what:8} huiqi {mine[0]:8,.0f}/s p99 {mine[1]:6.1f} ms | "
                f"nginx {nginx_r[0]:8,.0f}/s p99 {nginx_r[1]:6.1f} ms | "
                f"ratio {mine[0] / nginx_r[0]:.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
