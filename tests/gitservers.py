"""Real git servers on loopback, started by the tests: `git daemon` and `git http-backend` behind basic auth."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from components.sandbox.ports import free_port, wait_for_port


@contextmanager
def git_daemon(base: Path, port: int | None = None) -> Iterator[str]:
    """Serve every repo under ``base`` with push enabled; yields git://127.0.0.1:<port>/."""
    port = port or free_port()
    process = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", f"--base-path={base}",
         "--listen=127.0.0.1", f"--port={port}", str(base)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, process)
        yield f"git://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _http_backend() -> str:
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(exec_path, "git-http-backend")


class _Handler(BaseHTTPRequestHandler):
    """Basic auth in front of git http-backend (CGI); records every Authorization header it sees."""

    server: _GitHttpServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        header = self.headers.get("Authorization", "")
        self.server.seen_authorization.append(header)
        if header != self.server.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "tester",
            "REMOTE_ADDR": "127.0.0.1",
            "PATH": os.environ["PATH"],
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        result = subprocess.run([_http_backend()], input=body, env=env, capture_output=True, check=False)
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve


class _GitHttpServer(ThreadingHTTPServer):
    def __init__(self, root: Path, username: str, token: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.expected = "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()
        self.seen_authorization: list[str] = []


@contextmanager
def git_http(root: Path, username: str, token: str) -> Iterator[tuple[str, _GitHttpServer]]:
    """Serve repos under ``root`` over http://127.0.0.1:<port>/ requiring basic auth username:token."""
    server = _GitHttpServer(root, username, token)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server
    finally:
        server.shutdown()
        server.server_close()
