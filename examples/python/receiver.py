#!/usr/bin/env python3
"""A Runhook webhook receiver with nothing but the Python standard library.

Copy docs/python/verify_runhook.py next to this file, then:

    RUNHOOK_WEBHOOK_SECRET=whsec_... python3 receiver.py

and point a Runhook webhook (with that secret) at http://<this host>:8000/webhooks/runhook.
"""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from verify_runhook import VerificationError, verify

SECRET = os.environ["RUNHOOK_WEBHOOK_SECRET"]
HOST = os.environ.get("HOST", "127.0.0.1")  # 0.0.0.0 to accept deliveries from another machine
PORT = int(os.environ.get("PORT", "8000"))


class RunhookHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/webhooks/runhook":
            self.answer(404, "not found")
            return
        # The exact bytes Runhook signed, before any JSON parsing.
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            event = verify(body, self.headers, SECRET)
        except VerificationError as error:
            self.answer(400, str(error))
            return
        # Answer within 15 seconds; do slow work after answering (a queue, a thread).
        # Retries and redeliveries repeat the webhook-id: skip the ones you have already handled.
        run = event.get("test_run") or {}
        print("received %s %s %s (webhook-id %s)" % (
            event.get("event"), run.get("test_run_id"), run.get("status"), self.headers["webhook-id"],
        ), flush=True)
        self.answer(204)

    def answer(self, status, text=""):
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    server = ThreadingHTTPServer((HOST, PORT), RunhookHandler)
    print("Listening on http://%s:%d/webhooks/runhook" % (HOST, PORT), flush=True)
    server.serve_forever()
