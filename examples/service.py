"""A back-office service sketch: receive events, return decisions, keep the audit trail.

Standard library only (http.server); a real service would use its own framework, but the
calls into dunning are the same three: fold events into state, decide, append to the store.

    POST /events          body: JSON Lines of events       -> {"accepted": n}
    POST /decide          body: {"loan_id": ..., "as_of": ...} -> the decision (canonical JSON)
    GET  /verify          -> the audit chain's verification report

Run `python examples/service.py` and try:
    curl -s -XPOST localhost:8080/events --data-binary @examples/portfolio.jsonl
    curl -s -XPOST localhost:8080/decide \
        -d '{"loan_id": "L-1001", "as_of": "2025-06-30T10:00:00+08:00"}'
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dunning

ROOT = Path(__file__).resolve().parent.parent


class CollectionsService:
    """Holds each loan's events and an engine; every decision goes to the audit store."""

    def __init__(self, rules_path: Path, store_path: Path) -> None:
        self.rules = dunning.load_rules(rules_path)
        self.engine = dunning.Engine(self.rules)
        self.store = dunning.AuditStore(store_path)
        self.events: list[Any] = []
        self.lock = threading.Lock()

    def accept(self, lines: str) -> int:
        parsed = [dunning.events.parse_event(line) for line in lines.splitlines() if line.strip()]
        with self.lock:
            self.events.extend(parsed)
        return len(parsed)

    def decide(self, loan_id: str, as_of: str) -> dunning.Decision:
        with self.lock:
            loans = dunning.group_by_loan(self.events)
        if loan_id not in loans:
            raise dunning.InputError(f"loan {loan_id!r}: no events received for it")
        decision = self.engine.decide(loans[loan_id], as_of=as_of)
        self.store.append(decision, self.rules)
        return decision


def make_handler(service: CollectionsService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, code: int, body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
            try:
                if self.path == "/events":
                    self._reply(200, json.dumps({"accepted": service.accept(body)}))
                elif self.path == "/decide":
                    req = json.loads(body)
                    self._reply(200, service.decide(req["loan_id"], req["as_of"]).to_json())
                else:
                    self._reply(404, json.dumps({"error": f"no route {self.path}"}))
            except dunning.DunningError as err:  # bad input: say what and where, 400
                self._reply(400, json.dumps({"error": str(err)}))

        def do_GET(self) -> None:
            if self.path == "/verify":
                report = service.store.verify()
                self._reply(200, json.dumps({"ok": report.ok, "records": report.records}))
            else:
                self._reply(404, json.dumps({"error": f"no route {self.path}"}))

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


def serve(port: int = 8080, store: Path = Path("audit.sqlite")) -> ThreadingHTTPServer:
    service = CollectionsService(ROOT / "rules" / "cn-bank-retail.yaml", store)
    return ThreadingHTTPServer(("127.0.0.1", port), make_handler(service))


if __name__ == "__main__":
    server = serve()
    print(f"listening on http://127.0.0.1:{server.server_address[1]}")
    server.serve_forever()
