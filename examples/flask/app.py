"""A Runhook webhook receiver on Flask.

Copy docs/python/verify_runhook.py next to this file, then:

    pip install flask            # or: apt-get install python3-flask
    RUNHOOK_WEBHOOK_SECRET=whsec_... python3 app.py

and point a Runhook webhook (with that secret) at http://<this host>:5000/webhooks/runhook.
"""

import os

from flask import Flask, request

from verify_runhook import VerificationError, verify

SECRET = os.environ["RUNHOOK_WEBHOOK_SECRET"]

app = Flask(__name__)


@app.post("/webhooks/runhook")
def runhook():
    try:
        # get_data(): the exact bytes Runhook signed, before any JSON parsing.
        event = verify(request.get_data(), request.headers, SECRET)
    except VerificationError as error:
        return str(error), 400
    # Answer within 15 seconds; do slow work after answering (a queue, a background job).
    # Retries and redeliveries repeat the webhook-id: skip the ones you have already handled.
    run = event.get("test_run") or {}
    print("received %s %s %s (webhook-id %s)" % (
        event.get("event"), run.get("test_run_id"), run.get("status"), request.headers["webhook-id"],
    ), flush=True)
    return "", 204


if __name__ == "__main__":
    # Flask's development server; behind gunicorn or similar in production.
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")))
