#!/usr/bin/env python3
"""A loopback stand-in for SendGrid's POST /v3/mail/send that misbehaves on
purpose, and the checks that read its log.  Standard library only.

  fault-server.py serve --port-file F --log L --seed N [options]
  fault-server.py check WHAT LOG [options]     (exit 1 and say why if broken)

Every answer is drawn from a generator seeded by (seed, recipient, how many
requests this recipient has made so far), not by arrival order, so a seed
replays the same answers whatever the threads' timing.

One JSON line per request goes to the log: t (wall clock on receipt, so that
another process could compare it), done (when the answer was written),
key, to, from, n (1 for a key's first request), answer, retry_after,
accepted (a complete 2xx was written), inflight (requests being handled on
receipt, this one included).
"""

import argparse
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("429", "500", "503", "reset", "stall", "trickle")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.seen = {}          # key -> requests so far
        self.inflight = 0
        self.handling = 0       # handlers not yet done, for a clean stop
        self.ids = 0
        self.log = open(args.log, "a", encoding="utf-8")

    def write(self, rec):
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        with self.lock:
            self.log.write(line)
            self.log.flush()


def choose(args, to, n):
    local = to.split("@", 1)[0]
    if local.startswith("bad"):
        return "400", 0
    if local.startswith("down"):
        # never gets through, and never with a 429: the run's retry budget
        # is the only thing that ends it
        return ("500", "503")[n % 2], 0
    rng = random.Random("%d/%s/%d" % (args.seed, to, n))
    if local.startswith("limit") and n == 1:
        return "429", rng.choice((1, 2))
    if rng.random() >= args.fault_rate:
        return "202", 0
    kind = rng.choice(args.faults)
    return kind, (rng.choice((1, 2)) if kind == "429" else 0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-server"
    sys_version = ""

    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        st = self.server.state
        args = st.args
        t = time.time()
        with st.lock:
            st.inflight += 1
            st.handling += 1
            inflight = st.inflight
        try:
            self.serve_one(st, args, t, inflight)
        finally:
            with st.lock:
                st.handling -= 1

    def leave(self, st):
        with st.lock:
            st.inflight -= 1

    def serve_one(self, st, args, t, inflight):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        rec = {"t": round(t, 6), "inflight": inflight}
        try:
            msg = json.loads(body)
            p = msg["personalizations"][0]
            rec["key"] = p["custom_args"]["seq_key"]
            rec["to"] = p["to"][0]["email"]
            rec["from"] = msg["from"]["email"]
        except (ValueError, KeyError, IndexError, TypeError):
            self.leave(st)
            rec.update(answer="400", accepted=False, done=time.time())
            self.reply(400, b'{"errors":[{"message":"not a mail send"}]}')
            st.write(rec)
            return
        with st.lock:
            n = st.seen.get(rec["key"], 0) + 1
            st.seen[rec["key"]] = n
            st.ids += 1
            mid = "fs-%d-%d" % (os.getpid(), st.ids)
        answer, ra = choose(args, rec["to"], n)
        rec.update(n=n, answer=answer, retry_after=ra, accepted=False)
        if args.hold:
            time.sleep(args.hold)
        if answer == "stall":
            # no answer at all, for longer than the client waits
            self.leave(st)
            rec["done"] = round(time.time(), 6)
            st.write(rec)
            time.sleep(args.stall)
            self.close_connection = True
            return
        if answer == "reset":
            self.leave(st)
            rec["done"] = round(time.time(), 6)
            st.write(rec)
            # RST with nothing before it: no FIN, no status line
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        try:
            if answer == "trickle":
                head = ("HTTP/1.1 202 Accepted\r\nX-Message-Id: %s\r\n"
                        "Content-Length: 0\r\n\r\n" % mid).encode()
                step = max(1, len(head) // 8)
                chunks = [head[i:i + step] for i in range(0, len(head), step)]
                pause = args.trickle / len(chunks)
                for i, c in enumerate(chunks):
                    if i == len(chunks) - 1:
                        self.leave(st)
                    else:
                        time.sleep(pause)
                    self.wfile.write(c)
                rec["accepted"] = True
            elif answer == "202":
                self.leave(st)
                self.reply(202, headers=[("X-Message-Id", mid)])
                rec["accepted"] = True
            elif answer == "400":
                self.leave(st)
                self.reply(400, json.dumps({"errors": [{
                    "message": "The to email does not contain a valid "
                               "address.",
                    "field": "personalizations.0.to.0.email",
                    "help": "http://sendgrid.com/docs/API_Reference/"
                            "Web_API_v3/Mail/errors.html"}]}).encode())
            elif answer == "429":
                self.leave(st)
                self.reply(429, b'{"errors":[{"field":null,"message":'
                           b'"too many requests"}]}',
                           [("Retry-After", str(ra))])
            else:
                self.leave(st)
                self.reply(int(answer), b'{"errors":[{"field":null,'
                           b'"message":"internal error"}]}')
            if answer in ("202", "trickle"):
                rec["id"] = mid
        except OSError as e:
            rec["accepted"] = False
            rec["write_error"] = str(e)
            self.close_connection = True
        rec["done"] = round(time.time(), 6)
        st.write(rec)


class Server(ThreadingHTTPServer):
    # the default backlog of 5 drops SYNs when many connections open at
    # once, and the client's retransmit alone costs a second
    request_queue_size = 128


def serve(args):
    state = State(args)
    srv = Server(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = state
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    # a server nobody stops still stops
    stop.wait(args.lifetime)
    srv.shutdown()
    # let answers being written finish, so the log is whole; bounded
    end = time.time() + args.stall + 2
    while time.time() < end:
        with state.lock:
            if state.handling == 0:
                break
        time.sleep(0.02)
    state.log.close()
    os._exit(0)


# ---- checks ---------------------------------------------------------------

def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def by_key(log):
    keys = {}
    for r in sorted(log, key=lambda r: r["t"]):
        if "key" in r:
            keys.setdefault(r["key"], []).append(r)
    return keys


def check_retry_after(log, a):
    """The request after a 429 with Retry-After R at t comes at t+R or
    later, less a.slack seconds for the clock."""
    bad = []
    count = 0
    for key, reqs in by_key(log).items():
        for prev, nxt in zip(reqs, reqs[1:]):
            if prev["answer"] != "429":
                continue
            count += 1
            early = prev["t"] + prev["retry_after"] - nxt["t"]
            if early > a.slack:
                bad.append("%s: 429 with Retry-After %d at %.6f, next request "
                           "%.3fs early at %.6f" % (key, prev["retry_after"],
                                                    prev["t"], early, nxt["t"]))
    if count < a.min_count:
        bad.append("only %d 429s were followed by another request; the check "
                   "needs %d" % (count, a.min_count))
    return bad, "%d 429s followed by a retry" % count


def window_max(times, width):
    """The most events in any half-open window [s, s+width)."""
    times = sorted(times)
    best, j, at = 0, 0, None
    for i, t in enumerate(times):
        while times[j] <= t - width:
            j += 1
        if i - j + 1 > best:
            best, at = i - j + 1, times[j]
    return best, at


def check_rate(log, a):
    """At most a.limit requests start in any a.width-second window, counted
    over all requests or per value of the field a.by."""
    groups = {}
    for r in log:
        groups.setdefault(r.get(a.by) if a.by else "all", []).append(r["t"])
    bad, seen = [], []
    for g, times in sorted(groups.items()):
        most, at = window_max(times, a.width)
        seen.append("%s: %d requests, at most %d in %gs" %
                    (g, len(times), most, a.width))
        if most > a.limit:
            bad.append("%s: %d requests in the %gs from %.6f; the limit is %d"
                       % (g, most, a.width, at, a.limit))
    return bad, "; ".join(seen)


def check_inflight(log, a):
    """The server never had more than a.max requests in hand, and at some
    point more than a.min."""
    most = max((r["inflight"] for r in log), default=0)
    bad = []
    if most > a.max:
        bad.append("%d requests in flight at once; at most %d allowed"
                   % (most, a.max))
    if most <= a.min:
        bad.append("at most %d request(s) in flight: no parallelism above %d"
                   % (most, a.min))
    return bad, "at most %d in flight" % most


def check_after_429(log, a):
    """Once every 429 has been answered, the requests that follow in the
    next a.width seconds never number more than a.max in flight, and later
    more than a.min are (the concurrency climbs back)."""
    ends = [r["done"] for r in log if r.get("answer") == "429"]
    if not ends:
        return ["no 429 in the log"], ""
    after = sorted((r for r in log if r["t"] > max(ends)),
                   key=lambda r: r["t"])
    if not after:
        return ["no request after the 429s"], ""
    first = after[0]["t"]
    soon = max(r["inflight"] for r in after if r["t"] < first + a.width)
    later = max(r["inflight"] for r in after)
    bad = []
    if soon > a.max:
        bad.append("%d in flight within %gs of the pause's end; at most %d"
                   % (soon, a.width, a.max))
    if later <= a.min:
        bad.append("never more than %d in flight after the 429s" % later)
    return bad, "%d 429s; then %d in flight at first, %d at most" % (
        len(ends), soon, later)


def check_once(log, a):
    """No key is accepted twice."""
    acc = {}
    for r in log:
        if r.get("accepted"):
            acc[r["key"]] = acc.get(r["key"], 0) + 1
    bad = ["%s accepted %d times" % (k, n) for k, n in acc.items() if n > 1]
    return bad, "%d keys accepted" % len(acc)


def gave_up(k, reqs, a, any_429):
    """Why a key ended retry: its next try would have started past
    a.retry_for even after the longest wait it could have drawn."""
    n, first, last = len(reqs), reqs[0]["t"], reqs[-1]
    # seq-send heard no answer to a stall until its --timeout
    end = last["t"] + a.timeout if last["answer"] == "stall" else last["done"]
    wait = 1.25 * min(0.5 * 2 ** (n - 1), 30)
    if last["answer"] == "429":
        wait = max(wait, last["retry_after"])
    if end - first + wait + a.slack <= a.retry_for:
        return ["%s: retry after %d tries, the last answered at %.3fs; the "
                "next was due by %.3fs, within --retry-for %gs"
                % (k, n, end - first, end - first + wait, a.retry_for)]
    if not any_429 and last["t"] - first > a.retry_for + a.slack:
        return ["%s: requests over %.3fs, past --retry-for %gs"
                % (k, last["t"] - first, a.retry_for)]
    return []


def check_results(log, a):
    """Each job has one result line, and each result agrees with what the
    server did with its key."""
    keys = by_key(log)
    # a 429 pauses every key, and may hold a retry due within the budget
    # until after it: the span is bounded only where there is none
    any_429 = any(r.get("answer") == "429" for r in log)
    bad = []
    seen = {}
    counts = {}
    with open(a.results, encoding="utf-8") as f:
        results = [json.loads(line) for line in f if line.strip()]
    with open(a.jobs, encoding="utf-8") as f:
        jobs = [json.loads(line)["key"] for line in f if line.strip()]
    for r in results:
        seen[r["key"]] = seen.get(r["key"], 0) + 1
    for k in jobs:
        if seen.get(k, 0) != 1:
            bad.append("%s: %d result lines" % (k, seen.get(k, 0)))
    for k in seen:
        if k not in jobs:
            bad.append("%s: a result for no job" % k)
    for r in results:
        k, st = r["key"], r["status"]
        reqs = keys.get(k, [])
        acc = [q for q in reqs if q["accepted"]]
        local = r["to"].split("@", 1)[0]
        counts[st] = counts.get(st, 0) + 1
        if local.startswith("bad"):
            want = ("HTTP 400: personalizations.0.to.0.email: The to email "
                    "does not contain a valid address.")
            if (st != "failed" or r.get("http_status") != 400 or
                    r.get("error") != want or len(reqs) != 1):
                bad.append("%s: %s %s %r after %d requests; wanted failed 400 "
                           "%r after 1" % (k, st, r.get("http_status"),
                                           r.get("error"), len(reqs), want))
        elif st == "sent":
            if len(acc) != 1 or r.get("provider_id") != acc[0].get("id"):
                bad.append("%s: sent as %r, the server accepted it %d times "
                           "%s" % (k, r.get("provider_id"), len(acc),
                                   [q.get("id") for q in acc]))
            elif reqs[-1] is not acc[0]:
                bad.append("%s: requested again after it was accepted" % k)
        elif st == "retry":
            last = reqs[-1]["answer"] if reqs else None
            # what the client must have seen for the server's last answer
            why = {"429": "HTTP 429", "500": "HTTP 500", "503": "HTTP 503",
                   "stall": "Timeout was reached",
                   # a reset on a fresh connection, on a reused one
                   # (http.c cannot resend those), or read as an end
                   "reset": ("Failure when receiving data from the peer",
                             "the connection closed before an answer",
                             "Server returned nothing")}.get(last, ())
            if isinstance(why, str):
                why = (why,)
            err = r.get("error") or ""
            if acc:
                bad.append("%s: retry, but the server accepted it" % k)
            elif not why or not any(err.startswith(w) for w in why):
                bad.append("%s: retry with error %r; the server's last answer "
                           "was %s" % (k, err, last))
            elif a.retry_for is not None and reqs:
                bad += gave_up(k, reqs, a, any_429)
        else:
            bad.append("%s: status %s" % (k, st))
    return bad, " ".join("%s=%d" % kv for kv in sorted(counts.items()))


def check_backoff(log, a):
    """For keys the server always refuses with a 5xx (no 429, no stall):
    the gap after try n lies in 0.5*2^(n-1) s times 0.75..1.25 (the jitter),
    no earlier from the request, no later than a.slack past that from the
    answer; and the jitter is real: some first retry comes more than
    a.spread seconds sooner than the nominal 0.5 s."""
    bad, firsts = [], []
    for key, reqs in by_key(log).items():
        if any(q["answer"] not in ("500", "503") for q in reqs):
            continue
        for i, (p, q) in enumerate(zip(reqs, reqs[1:])):
            base = 0.5 * 2 ** i
            gap_lo = q["t"] - p["t"]
            gap_hi = q["t"] - p["done"]
            if i == 0:
                firsts.append(gap_lo)
            # early is never right (a few ms of clock aside); late by a
            # little is the client's loop and scheduler
            if gap_lo < 0.75 * base - 0.005 or gap_hi > 1.25 * base + a.slack:
                bad.append("%s: after try %d, the next %.3fs after the "
                           "request, %.3fs after the answer; wanted %.3f.."
                           "%.3f" % (key, i + 1, gap_lo, gap_hi, 0.75 * base,
                                     1.25 * base))
    # without jitter no retry can come sooner than its 0.5 s, whatever the
    # latency; with it, each has about a 40% chance of coming 20 ms sooner
    if len(firsts) < 2:
        bad.append("only %d keys retried after a 5xx" % len(firsts))
    elif min(firsts) >= 0.5 - a.spread:
        bad.append("first retries all %.3f..%.3fs after the request: no "
                   "jitter" % (min(firsts), max(firsts)))
    return bad, "%d keys; first gaps %.3f..%.3fs" % (
        len(firsts), min(firsts, default=0), max(firsts, default=0))


def check_budget(log, a):
    """For keys the server always refuses with a 5xx: retried at least once,
    never past a.retry_for, and given up only when the next try could have
    come too late: its longest wait (1.25 * 0.5 * 2^(n-1) s after try n)
    would end past the budget.  a.slack is for the latency between the
    client's clock and the server's."""
    bad, counts = [], {}
    for key, reqs in by_key(log).items():
        if any(q["answer"] not in ("500", "503") for q in reqs):
            continue
        n = len(reqs)
        counts[n] = counts.get(n, 0) + 1
        span = reqs[-1]["t"] - reqs[0]["t"]
        latest = reqs[-1]["done"] - reqs[0]["t"] + 1.25 * 0.5 * 2 ** (n - 1)
        if n < 2:
            bad.append("%s: never retried" % key)
        elif span > a.retry_for + a.slack:
            bad.append("%s: tried %d times over %.3fs, past --retry-for %gs"
                       % (key, n, span, a.retry_for))
        elif latest + a.slack <= a.retry_for:
            bad.append("%s: given up after %d tries at %.3fs, though try %d "
                       "was due by %.3fs, within --retry-for %gs"
                       % (key, n, reqs[-1]["done"] - reqs[0]["t"], n + 1,
                          latest, a.retry_for))
    if not counts:
        bad.append("no key refused every time")
    return bad, "keys by their number of tries: %s" % " ".join(
        "%d:%d" % kv for kv in sorted(counts.items()))


def check_tries(log, a):
    """Every request the server saw is a try seq-send started (its --verbose
    "start" and "try N" lines): libcurl sends nothing on its own."""
    tries = {}
    with open(a.stderr, encoding="utf-8", errors="replace") as f:
        for line in f:
            part = line.rstrip("\n").split(": ")
            if len(part) >= 4 and part[0] == "seq-send" and \
                    (part[3] == "start" or part[3].startswith("try ")):
                tries[part[2]] = tries.get(part[2], 0) + 1
    got = {}
    for r in log:
        if "key" in r:
            got[r["key"]] = got.get(r["key"], 0) + 1
    bad = ["%s: %d requests reached the server, seq-send made %d tries"
           % (k, got.get(k, 0), tries.get(k, 0))
           for k in sorted(set(tries) | set(got))
           if got.get(k, 0) != tries.get(k, 0)]
    return bad, "%d tries, %d requests" % (sum(tries.values()),
                                          sum(got.values()))


CHECKS = {"budget": check_budget, "tries": check_tries, "retry-after": check_retry_after, "after-429": check_after_429, "rate": check_rate,
          "inflight": check_inflight, "once": check_once,
          "results": check_results, "backoff": check_backoff}


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port-file", required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--fault-rate", type=float, default=0.3)
    s.add_argument("--faults", default=",".join(FAULTS),
                   help="the faults to draw from, comma-separated")
    s.add_argument("--hold", type=float, default=0,
                   help="seconds every request waits before its answer")
    s.add_argument("--stall", type=float, default=1.6)
    s.add_argument("--trickle", type=float, default=0.3)
    s.add_argument("--lifetime", type=float, default=100)
    c = sub.add_parser("check")
    c.add_argument("what", choices=sorted(CHECKS))
    c.add_argument("log")
    c.add_argument("--slack", type=float, default=0.005)
    c.add_argument("--min-count", type=int, default=1)
    c.add_argument("--limit", type=int)
    c.add_argument("--width", type=float, default=1.0)
    c.add_argument("--by")
    c.add_argument("--max", type=int)
    c.add_argument("--min", type=int, default=1)
    c.add_argument("--results")
    c.add_argument("--stderr")
    c.add_argument("--jobs")
    c.add_argument("--retry-for", type=float)
    c.add_argument("--timeout", type=float, default=1.0)
    c.add_argument("--spread", type=float, default=0.02)
    a = ap.parse_args()
    if a.cmd == "serve":
        a.faults = [f for f in a.faults.split(",") if f]
        for f in a.faults:
            if f not in FAULTS:
                ap.error("unknown fault %s" % f)
        serve(a)
        return
    bad, summary = CHECKS[a.what](load(a.log), a)
    print("%s: %s" % (a.what, summary))
    for b in bad[:20]:
        print("%s: %s" % (a.what, b))
    if len(bad) > 20:
        print("%s: and %d more" % (a.what, len(bad) - 20))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
