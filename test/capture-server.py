#!/usr/bin/env python3
"""A loopback stand-in for the providers, for tests that must see exactly
what seq-send put on the wire.

    capture-server.py DIR [--status N] [--echo] [--stall SECONDS] [--smtp]

Listens on 127.0.0.1 at a port of the kernel's choosing (no race with other
test files for a port picked in advance) and writes it to DIR/port once
ready.  Every request, byte for byte, is appended to DIR/requests, and every
answer to DIR/answers, so a test can prove a credential really left seq-send
and really came back.

--status   the answer's HTTP status.
--echo     answer like a careless provider: the credential received is
           repeated in the error text and in every free-text field of a
           success (ids, timestamps, currency).
--pad      characters of filler before the echoed credential, to move it
           across the edge of a fixed-size buffer.
--stall    seconds to wait before answering; while waiting, the command line
           of every process is copied to DIR/cmdlines, so the sample is taken
           while seq-send is certainly running.
--smtp     speak just enough ESMTP for libcurl: AUTH PLAIN, and no
           STARTTLS, so that a client which would log in only over TLS
           must give up before sending its password.

The answer's shape follows the path: /v3/mail/send is SendGrid, /email is
Postmark, /messages is Telnyx.  The server quits by itself after --lifetime
seconds, in case a test dies before its teardown.
"""
import argparse
import base64
import glob
import json
import os
import socketserver
import threading
import time

lock = threading.Lock()
count = 0


def log(opts, data, name="requests"):
    with lock, open(os.path.join(opts.dir, name), "ab") as f:
        f.write(data)


def next_id():
    global count
    with lock:
        count += 1
        return count


def sample_cmdlines(opts):
    lines = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as f:
                argv = f.read()
        except OSError:
            continue  # gone, or not ours to read
        pid = path.split("/")[2].encode()
        lines.append(pid + b" " + argv.replace(b"\0", b" ") + b"\n")
    with lock, open(os.path.join(opts.dir, "cmdlines"), "ab") as f:
        f.write(b"--- sample\n" + b"".join(lines))


def stall(opts):
    if opts.stall > 0:
        t = time.monotonic()
        sample_cmdlines(opts)
        left = opts.stall - (time.monotonic() - t)
        if left > 0:
            time.sleep(left)


def http_answer(opts, path, headers):
    """The status, extra headers and body a provider would give."""
    cred = headers.get("authorization") or \
        headers.get("x-postmark-server-token") or ""
    n = next_id()
    tail = " " + cred if opts.echo else ""
    pad = "x" * opts.pad
    status, extra = opts.status, {}
    if path.endswith("/v3/mail/send"):
        if status < 300:
            extra["X-Message-Id"] = "sg-%d%s" % (n, tail)
            body = b""
        else:
            msg = "authorization grant is invalid or expired"
            if opts.echo:
                msg = "%sthe header you sent (Authorization: %s) names " \
                    "no key here" % (pad, cred)
            body = json.dumps({"errors": [
                {"field": None, "message": msg}]}).encode()
    elif path.endswith("/email"):
        if status < 300:
            body = json.dumps({"To": "x@example.com",
                               "SubmittedAt": "2026-11-23T10:00:00Z" + tail,
                               "MessageID": "pm-%d%s" % (n, tail),
                               "ErrorCode": 0, "Message": "OK"}).encode()
        else:
            msg = "Bad or missing Server API token"
            if opts.echo:
                msg += ": %sgot %s" % (pad, cred)
            body = json.dumps({"ErrorCode": 10, "Message": msg}).encode()
    elif path.endswith("/messages"):
        if status < 300:
            body = json.dumps({"data": {
                "id": "tx-%d%s" % (n, tail), "parts": 1,
                "cost": {"amount": "0.0040", "currency": "USD" + tail}}}).encode()
        else:
            detail = "the key is not valid"
            if opts.echo:
                detail = "%sthe key in '%s' is not valid" % (pad, cred)
            body = json.dumps({"errors": [
                {"code": "10009", "title": "Authentication failed",
                 "detail": detail}]}).encode()
    else:
        status, body = 404, b"{}"
    return status, extra, body


class HTTP(socketserver.StreamRequestHandler):
    def handle(self):
        opts = self.server.opts
        while True:  # libcurl keeps the connection for the next request
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = self.rfile.readline()
                if not line:
                    return
                head += line
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1] if " " in lines[0] else ""
            headers = {}
            for h in lines[1:]:
                if ":" in h:
                    k, v = h.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = self.rfile.read(int(headers.get("content-length", "0")))
            log(opts, head + body + b"\n")
            stall(opts)
            status, extra, answer = http_answer(opts, path, headers)
            out = "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n" \
                "Content-Length: %d\r\n" % (status, len(answer))
            for k, v in extra.items():
                out += "%s: %s\r\n" % (k, v)
            out = out.encode("latin-1") + b"\r\n" + answer
            log(opts, out + b"\n", "answers")
            self.wfile.write(out)
            self.wfile.flush()


class SMTP(socketserver.StreamRequestHandler):
    def say(self, s):
        log(self.server.opts, s.encode("latin-1") + b"\r\n", "answers")
        self.wfile.write(s.encode("latin-1") + b"\r\n")
        self.wfile.flush()

    def handle(self):
        opts = self.server.opts
        self.say("220 capture ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            log(opts, line)
            cmd = line.decode("latin-1").strip()
            verb = cmd.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                stall(opts)
                self.say("250-capture\r\n250 AUTH PLAIN")
            elif verb == "AUTH":
                parts = cmd.split(" ")
                if len(parts) > 2:
                    plain = parts[2]
                else:
                    self.say("334 ")
                    raw = self.rfile.readline()
                    log(opts, raw)
                    plain = raw.decode("latin-1").strip()
                fields = base64.b64decode(plain).split(b"\0")
                user = fields[1].decode("latin-1") if len(fields) > 1 else ""
                pw = fields[2].decode("latin-1") if len(fields) > 2 else ""
                # the wire holds base64: keep the decoded pair too, so a
                # test can grep for the password it expects to see
                log(opts, ("decoded AUTH PLAIN: %s %s\n" % (user, pw)).encode())
                self.say("235 2.7.0 accepted")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self.say("250 2.1.0 ok")
            elif verb == "DATA":
                self.say("354 go on")
                while True:
                    d = self.rfile.readline()
                    if not d:
                        return
                    log(opts, d)
                    if d in (b".\r\n", b".\n"):
                        break
                self.say("250 2.0.0 queued as q%d" % next_id())
            elif verb == "QUIT":
                self.say("221 2.0.0 bye")
                return
            else:
                self.say("502 5.5.2 what")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--status", type=int, default=202)
    p.add_argument("--echo", action="store_true")
    p.add_argument("--pad", type=int, default=0)
    p.add_argument("--stall", type=float, default=0)
    p.add_argument("--smtp", action="store_true")
    p.add_argument("--lifetime", type=float, default=90)
    opts = p.parse_args()
    srv = Server(("127.0.0.1", 0), SMTP if opts.smtp else HTTP)
    srv.opts = opts
    for name in ("requests", "answers"):
        open(os.path.join(opts.dir, name), "ab").close()
    tmp = os.path.join(opts.dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, os.path.join(opts.dir, "port"))
    threading.Timer(opts.lifetime, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
