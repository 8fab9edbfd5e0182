#!/usr/bin/python3
"""A SigV4-verifying HTTP proxy in front of a local S3 API (s3rver), for hlsforge's tests.

s3rver checks only the access key id, never the V4 signature, so this proxy re-signs every
request it receives with botocore (Debian's python3-botocore: S3SigV4Auth for header auth,
S3SigV4QueryAuth for presigned URLs), from the method, path, query and headers exactly as they
arrived on the wire, and compares the result with the Authorization header (or X-Amz-Signature)
the client sent. Mismatch: 403 SignatureDoesNotMatch, like S3. Match: forwarded upstream.

Where the client hashed its payload (x-amz-content-sha256 is not UNSIGNED-PAYLOAD), botocore
hashes the body it actually received, so a wrong payload hash fails too.

Control endpoints (unsigned, never forwarded):
  GET /__hf/stats                      JSON counters
  GET /__hf/fail?status=503&count=2    answer the next `count` S3 requests with `status`

Prints "PORT <n>" on stdout once listening on 127.0.0.1. Stops by itself when its stdin
closes (the test that started it ended) or after --max-seconds.
"""
import argparse
import datetime as _real_datetime
import http.client
import http.server
import json
import os
import re
import sys
import threading
import urllib.parse

import botocore.auth
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials


class _FixedDatetime(_real_datetime.datetime):
    """botocore signs "now"; we need it to sign the request's own x-amz-date."""

    fixed = None

    @classmethod
    def utcnow(cls):
        return cls.fixed


class _DatetimeModule:
    datetime = _FixedDatetime

    def __getattr__(self, name):
        return getattr(_real_datetime, name)


botocore.auth.datetime = _DatetimeModule()
_sign_lock = threading.Lock()

AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$"
)
# Headers S3 needs signed whenever they are sent (x-amz-* are checked by prefix).
MUST_SIGN = {"host", "content-type", "content-md5", "cache-control", "range"}


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.creds = {}
        for c in args.cred:
            parts = c.split(":")
            self.creds[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else None)
        self.region = args.region
        self.upstream = urllib.parse.urlsplit(args.upstream)
        self.stats = {"requests": 0, "verified": 0, "mismatches": 0, "presigned": 0,
                      "injected": 0, "forwarded": 0, "anonymous": 0, "parts": 0, "unsigned_payload": 0, "signed_payload": 0,
                      "keys_seen": []}
        self.fail_status = 0
        self.fail_count = 0
        self.last_mismatch = ""
        self.log = open(args.log, "a") if args.log else None

    def note(self, text):
        if self.log:
            self.log.write(text + "\n")
            self.log.flush()


def _timestamp(amz_date):
    return _FixedDatetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")


def verify_header_auth(state, method, raw_path, headers, body):
    """headers: received headers with lower-case names."""
    auth = headers.get("authorization", "")
    m = AUTH_RE.match(auth)
    if not m:
        return False, "malformed Authorization header: %r" % auth
    key_id, _, region, signed, _ = m.groups()
    if key_id not in state.creds:
        return True, "unknown key id (left to the upstream to reject)"
    if region != state.region:
        return False, "region %s, expected %s" % (region, state.region)
    secret, token = state.creds[key_id]
    signed_list = signed.split(";")
    for required in ("host", "x-amz-date", "x-amz-content-sha256"):
        if required not in signed_list:
            return False, "%s not signed" % required
    lower = headers
    for name in lower:
        if (name.startswith("x-amz-") or name in MUST_SIGN) and name not in signed_list:
            return False, "header %s sent but not signed" % name
    if token and lower.get("x-amz-security-token") != token:
        return False, "session token missing or wrong"
    sign_headers = {}
    for name in signed_list:
        if name not in lower:
            return False, "signed header %s was not sent" % name
        sign_headers[name] = lower[name]
    content_sha = lower["x-amz-content-sha256"]
    unsigned = content_sha == "UNSIGNED-PAYLOAD"
    request = AWSRequest(method=method, url="http://%s%s" % (lower["host"], raw_path),
                         headers=sign_headers, data=b"" if unsigned else body)
    # Payload: botocore hashes the received body itself unless the client chose UNSIGNED-PAYLOAD.
    request.context["client_config"] = Config(s3={"payload_signing_enabled": not unsigned})
    del request.headers["x-amz-content-sha256"]
    with _sign_lock:
        _FixedDatetime.fixed = _timestamp(lower["x-amz-date"])
        S3SigV4Auth(Credentials(key_id, secret, token), "s3", state.region).add_auth(request)
    expected = request.headers["Authorization"]
    with state.lock:
        state.stats["unsigned_payload" if unsigned else "signed_payload"] += 1
    if expected != auth:
        return False, "botocore: %s\nclient:   %s" % (expected, auth)
    return True, ""


def verify_query_auth(state, method, raw_path, headers):
    """headers: received headers with lower-case names."""
    path, _, query = raw_path.partition("?")
    params = urllib.parse.parse_qsl(query, keep_blank_values=True)
    got = dict(params)
    sig = got.get("X-Amz-Signature", "")
    key_id = got.get("X-Amz-Credential", "").split("/")[0]
    if key_id not in state.creds:
        return True, "unknown key id (left to the upstream)"
    secret, token = state.creds[key_id]
    rest = [(k, v) for k, v in params if not k.startswith("X-Amz-")]
    url = "http://%s%s" % (headers["host"], path)
    if rest:
        url += "?" + urllib.parse.urlencode(rest, quote_via=urllib.parse.quote, safe="-_.~")
    lower = headers
    sign_headers = {n: lower.get(n, "") for n in got.get("X-Amz-SignedHeaders", "").split(";")}
    request = AWSRequest(method=method, url=url, headers=sign_headers)
    with _sign_lock:
        _FixedDatetime.fixed = _timestamp(got.get("X-Amz-Date", "19700101T000000Z"))
        S3SigV4QueryAuth(Credentials(key_id, secret, token), "s3", state.region,
                         expires=int(got.get("X-Amz-Expires", "0"))).add_auth(request)
    expected_q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query))
    if expected_q.get("X-Amz-Signature") != sig:
        return False, "presigned: botocore %s, client %s" % (request.url, raw_path)
    # Every auth parameter the client sent must be what botocore would send.
    for k, v in expected_q.items():
        if got.get(k) != v:
            return False, "presigned parameter %s: botocore %r, client %r" % (k, v, got.get(k))
    return True, ""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *args):
        self.state.note(fmt % args)

    def _send(self, status, body=b"", ctype="application/xml", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _s3_error(self, status, code, message):
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
                "<Message>%s</Message></Error>" % (code, message)).encode()
        self._send(status, body)

    def _control(self):
        st = self.state
        parsed = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(parsed.query))
        if parsed.path == "/__hf/stats":
            with st.lock:
                out = dict(st.stats, last_mismatch=st.last_mismatch)
            self._send(200, json.dumps(out).encode(), "application/json")
        elif parsed.path == "/__hf/fail":
            with st.lock:
                st.fail_status = int(q.get("status", "503"))
                st.fail_count = int(q.get("count", "1"))
            self._send(200, b"{}", "application/json")
        else:
            self._send(404, b"{}", "application/json")

    def _handle(self):
        st = self.state
        if self.path.startswith("/__hf/"):
            return self._control()
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding"):
            return self._s3_error(411, "MissingContentLength", "chunked bodies not supported")
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        lower = {k.lower(): v for k, v in headers.items()}
        with st.lock:
            st.stats["requests"] += 1
            if self.command == "PUT" and "partNumber=" in self.path:
                st.stats["parts"] += 1
        if "X-Amz-Signature=" in self.path:
            ok, why = verify_query_auth(st, self.command, self.path, lower)
            kind = "presigned"
        elif "authorization" in lower:
            ok, why = verify_header_auth(st, self.command, self.path, lower, body)
            kind = "verified"
        else:
            ok, why, kind = True, "anonymous", "anonymous"
        if not ok:
            with st.lock:
                st.stats["mismatches"] += 1
                st.last_mismatch = "%s %s: %s" % (self.command, self.path, why)
            st.note("MISMATCH " + st.last_mismatch)
            return self._s3_error(403, "SignatureDoesNotMatch",
                                  "The request signature we calculated does not match the "
                                  "signature you provided. " + why.replace("<", "&lt;"))
        with st.lock:
            if kind:
                st.stats[kind] += 1
            st.stats["keys_seen"].append(urllib.parse.unquote(self.path.split("?")[0]))
            st.stats["keys_seen"] = st.stats["keys_seen"][-200:]
            inject = st.fail_count > 0
            if inject:
                st.fail_count -= 1
                st.stats["injected"] += 1
                status = st.fail_status
        if inject:
            code = "SlowDown" if status in (503, 429) else "InternalError"
            return self._s3_error(status, code, "injected by sigv4_proxy")
        up = st.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        try:
            conn.request(self.command, self.path, body=body if body else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError as e:
            return self._s3_error(502, "BadGateway", str(e))
        finally:
            conn.close()
        with st.lock:
            st.stats["forwarded"] += 1
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in ("transfer-encoding", "connection", "keep-alive", "content-length"):
                continue
            self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", resp.getheader("Content-Length") or "0")
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT of s3rver")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--cred", action="append", default=[], help="KEYID:SECRET[:TOKEN]")
    ap.add_argument("--log", default="")
    ap.add_argument("--max-seconds", type=float, default=900)
    args = ap.parse_args()
    Handler.state = State(args)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    threading.Timer(args.max_seconds, lambda: os._exit(0)).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
