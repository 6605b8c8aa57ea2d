"""deploy/haproxy/haproxy.cfg in Compose's mode, run for real: the API replicas are found by DNS (as Compose's
embedded DNS answers for a service name) and requests are spread over them. Everything on 127.0.0.0/8."""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
import time
from contextlib import ExitStack

import httpx
import pytest

from .serving import free_port
from .test_deploy_checks import HAPROXY_CFG, tool

pytestmark = pytest.mark.slow
REPLICAS = ("127.0.0.1", "127.0.0.2")


class Replica(http.server.BaseHTTPRequestHandler):
    """Answers every GET (the health check's /readyz too) with the address it listens on."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = self.server.server_address[0].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def dns_server(port: int, name: str, addresses: tuple[str, ...]):
    from dnslib import QTYPE, RR, A
    from dnslib.server import BaseResolver, DNSLogger, DNSServer

    class Resolver(BaseResolver):
        def resolve(self, request, handler):
            reply = request.reply()
            if request.q.qtype == QTYPE.A and str(request.q.qname).rstrip(".") == name:
                for address in addresses:
                    reply.add_answer(RR(name, QTYPE.A, rdata=A(address), ttl=5))
            return reply

    return DNSServer(Resolver(), port=port, address="127.0.0.1", logger=DNSLogger("-request,-reply,-truncated,-data"))


def test_haproxy_finds_the_replicas_by_dns_and_spreads_requests_over_them(tmp_path):
    haproxy = tool("haproxy")
    api_port, dns_port, bind_port = free_port(), free_port(), free_port()
    with ExitStack() as stack:
        for address in REPLICAS:
            server = http.server.ThreadingHTTPServer((address, api_port), Replica)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            stack.callback(server.server_close)
            stack.callback(server.shutdown)
        dns = dns_server(dns_port, "api", REPLICAS)
        dns.start_thread()
        stack.callback(dns.stop)
        env = {
            "PATH": os.environ["PATH"],
            "HAPROXY_BIND": f"127.0.0.1:{bind_port}",
            "API_HOST": "api",
            "API_PORT": str(api_port),
            "API_SLOTS": "4",
            "DNS_SERVER": f"127.0.0.1:{dns_port}",
        }
        log = (tmp_path / "haproxy.log").open("wb")
        process = subprocess.Popen([haproxy, "-f", HAPROXY_CFG], env=env, stdout=log, stderr=log)
        stack.callback(process.wait, 10)
        stack.callback(process.terminate)
        seen: set[str] = set()
        deadline = time.monotonic() + 30
        while seen != set(REPLICAS) and time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{bind_port}/anything", timeout=2)
                if response.status_code == 200:
                    seen.add(response.text)
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        assert seen == set(REPLICAS), (tmp_path / "haproxy.log").read_text()
