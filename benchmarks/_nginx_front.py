"""nginx in front of the leaderboard for bench_server.py, configured as docs/leaderboard.md says.

Why: a deployment puts nginx in front (TLS, upload limits), and what the service then sees is
kept-alive upstream connections, whatever the visitors do; with `proxy_cache` nginx also serves
repeats of a board for its max-age. This starts one nginx (when `nginx` is on PATH: Debian's
`nginx` package) with two listeners on loopback ports: `plain` only proxies (upstream keepalive),
`cached` also caches /api/boards/ as the docs' example does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CONF = """
{user}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    proxy_cache_path {tmp}/cache keys_zone=boards:10m max_size=100m inactive=60s;
    upstream leaderboard {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    server {{
        listen 127.0.0.1:{plain};
        location / {{ proxy_pass http://leaderboard; }}
    }}
    server {{
        listen 127.0.0.1:{cached};
        location / {{ proxy_pass http://leaderboard; }}
        location /api/boards/ {{
            proxy_pass http://leaderboard;
            proxy_cache boards;
            proxy_cache_lock on;
            proxy_cache_use_stale updating;
            proxy_cache_revalidate on;
        }}
    }}
}}
"""


@dataclass
class Front:
    proc: subprocess.Popen
    plain: str
    cached: str
    folder: Path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(upstream_port: int, folder: Path) -> Front | None:
    """nginx in front of 127.0.0.1:`upstream_port`, or None when nginx is not installed."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                       else None)
    if binary is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    plain, cached = _free_port(), _free_port()
    conf = folder / "nginx.conf"
    # as root nginx's workers would run as nobody, who cannot write this private folder
    conf.write_text(CONF.format(user="user root;" if os.geteuid() == 0 else "", tmp=folder,
                                upstream=upstream_port, plain=plain, cached=cached))
    proc = subprocess.Popen([binary, "-p", str(folder), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", cached), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"nginx did not start: {proc.stderr.read()[-2000:]}") from None
            time.sleep(0.1)
    return Front(proc, f"http://127.0.0.1:{plain}", f"http://127.0.0.1:{cached}", folder)
