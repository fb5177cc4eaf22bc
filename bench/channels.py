"""Benchmark of issue 18's speed section in one run: SMS and web push each delivered with 2 workers against local
servers (>= 500 messages/s, p99 from step to hand-off < 1 s), then the frequency-cap check at 1,000,000 contacts
(< 1 ms added per send).

SMS (bench/sms.py, a local Twilio stand-in) and push (bench/push.py, a local push service that checks each VAPID
JWT and decrypts each payload) run one after the other through the channel runner (bench/_runner.py), each with
the machine to itself; the caps figures are bench/caps.py's (a scratch database of 1,000,000 contacts and
3,000,000 ledger rows). A cap check's cost per send is a check in a runtime batch (one ledger read for 100
contacts) plus its ledger write; a lone check's p50 and p99 are printed too. `--quick`: 500 messages each, 50,000 contacts.
Prints figures and whether each target was met; asserts nothing.
"""

from __future__ import annotations

import sys
from typing import TextIO

from bench import caps, push, sms
from bench._runner import run_channel, write_figures

TARGET_PER_S, TARGET_P99_MS, TARGET_CAP_MS = 500, 1000, 1.0


def run(*, out: TextIO = sys.stdout, quick: bool = False) -> None:
    count = 500 if quick else 5000
    sms_figures = run_channel(sms.SCENARIO, count=count)
    write_figures(out, "channels.sms", sms_figures, stored_label="LiveSms into the outbox")
    push_figures = run_channel(push.scenario(count), count=count)
    write_figures(out, "channels.push", push_figures, stored_label="LivePush.send into the outbox",
                  lines=[("refused_by_service", (push_figures.receiver_extra or [])[:3])])  # fmt: skip
    cap = caps.measure(quick=quick)
    caps.write(out, cap)
    # The runtime checks caps per batch (one ledger read for its contacts) and writes the ledger with the batch:
    # that is what a send pays. A lone check (a batch of one) is printed above, beside it.
    cap_ms = cap["batch_per_send_ms"] + cap["record_per_send_ms"]
    verdict = {
        "sms": sms_figures.meets(per_s=TARGET_PER_S, p99_ms=TARGET_P99_MS),
        "push": push_figures.meets(per_s=TARGET_PER_S, p99_ms=TARGET_P99_MS),
        "caps": cap_ms < TARGET_CAP_MS,
    }
    out.write(f"channels.sms_target            {'met' if verdict['sms'] else 'NOT met'}   "
              f"({sms_figures.delivered_per_s:.0f}/s, p99 {sms_figures.latency_ms['p99']:.0f} ms; "
              f"target >= {TARGET_PER_S}/s, p99 < {TARGET_P99_MS} ms)\n")  # fmt: skip
    out.write(f"channels.push_target           {'met' if verdict['push'] else 'NOT met'}   "
              f"({push_figures.delivered_per_s:.0f}/s, p99 {push_figures.latency_ms['p99']:.0f} ms)\n")  # fmt: skip
    out.write(f"channels.cap_check_ms          {cap_ms:.3f} per send at {cap['contacts']:,} contacts, in batches of 100   "
              f"({'met' if verdict['caps'] else 'NOT met'}: target < {TARGET_CAP_MS:g} ms)\n")  # fmt: skip
    out.flush()
