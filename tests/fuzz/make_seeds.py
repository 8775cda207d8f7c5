#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus/<target>/ (committed).

Seeds are the inputs the code is known to meet: the exchange fixtures, the
unit tests' inputs, requests as curl and the probes send them. Each file is
named after what it holds. Rerun after changing a seed here; libFuzzer's
own finds stay in the work corpus (scripts/fuzz), and crashing inputs are
added by hand as crash-<what> (docs/fuzzing.md).
"""
import json
import pathlib
import struct

here = pathlib.Path(__file__).resolve().parent
root = here.parent.parent
fixtures = root / "tests/fixtures/exchange"


def write(target, name, data):
    d = here / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def fdp_string(s):
    """A string as FuzzedDataProvider::ConsumeRandomLengthString reads it."""
    return s.replace("\\", "\\\\") + "\\x"


# ---- http_request: a connection's bytes
crlf = lambda *lines: "\r\n".join(lines) + "\r\n\r\n"
http = {
    "get-health": crlf("GET /health HTTP/1.1", "Host: 127.0.0.1:8080", "User-Agent: curl/7.88.1", "Accept: */*"),
    "get-readyz-kube-probe": crlf("GET /readyz HTTP/1.1", "Host: 10.0.0.7:8080", "User-Agent: kube-probe/1.29",
                                  "Accept: */*", "Connection: close"),
    "get-offers-query": crlf("GET /api/v1/offers?exchange=binance&fiat=VES&asset=USDT&trade_type=SELL&limit=50"
                             "&since=2026-11-23T10:00:00Z HTTP/1.1", "Host: localhost",
                             "X-API-Key: 0123456789abcdef0123",
                             "X-Request-ID: 5f0c8e1a-2b2f-4c1e-9a53-7d3c2f1b9e00",
                             "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    "get-offer-by-id-escaped": crlf("GET /api/v1/offers/123%20x HTTP/1.1", "Host: localhost"),
    "pipelined-three": crlf("GET /livez HTTP/1.1", "Host: a") + crlf("HEAD /metrics HTTP/1.1", "Host: a")
                       + crlf("GET /api/v1/stats?window=1h HTTP/1.1", "Host: a", "Connection: close"),
    "http10-keep-alive": crlf("GET /health HTTP/1.0", "Connection: keep-alive") + crlf("GET /ready HTTP/1.0"),
    "post-body": "POST /api/v1/echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                 "Content-Length: 17\r\n\r\n{\"fiat\": \"VES\"}\r\n",
    "post-body-on-get-route": "POST /api/v1/offers HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
    "post-chunked": "POST /api/v1/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
    "chunked-then-gzip": "POST /api/v1/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    "endless-chunk-extension": "POST /api/v1/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "1;" + "a" * 2000,
    "http2-preface": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "expect-100-continue": "POST /api/v1/echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nabcde",
    "body-over-tiny-limit": "POST /api/v1/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + "x" * 100,
    "header-over-tiny-limit": crlf("GET / HTTP/1.1", "Host: a", "Cookie: " + "c" * 300),
    "bad-request-line": "GET /health HTTP/9.9\r\n\r\n",
    "partial-header": "GET /health HTTP/1.1\r\nHost: a\r\nX-Slow",
    "options-star": crlf("OPTIONS * HTTP/1.1", "Host: a"),
    "absolute-form": crlf("GET http://localhost:8080/health?x=1 HTTP/1.1", "Host: localhost:8080"),
    "bad-request-id-and-traceparent": crlf("GET /health HTTP/1.1", "Host: a", "X-Request-ID: bad id\twith tab",
                                           "traceparent: ff-00000000000000000000000000000000-0000000000000000-00"),
}
for name, text in http.items():
    write("http_request", name, text)

# ---- router_query: [pattern][target]...[method index byte at the end]
methods = {"get": 0, "head": 1, "post": 2}
router = [
    ("offers-list", "/api/v1/offers", "/api/v1/offers?exchange=bybit&fiat=VES&asset=USDT&trade_type=BUY&limit=100", "get"),
    ("offer-by-id", "/api/v1/offers/{id}", "/api/v1/offers/42?verbose=true", "get"),
    ("market-params", "/api/v1/{exchange}/offers", "/api/v1/binance/offers?fiat=VES&asset=USDT&tradeType=SELL&page=2&rows=20", "get"),
    ("bad-params-422", "/x", "/api/v1/binance/offers?fiat=ves&tradeType=HOLD&page=0&rows=21&verbose=maybe", "get"),
    ("escapes", "/a%20b/{c}", "/a%20b/x%2Fy?q=a+b%26c&since=2026-11-23T09:32:53.5%2B05:30", "get"),
    ("bad-escape", "/%zz", "/api/v1/offers?fiat=%G1", "get"),
    ("head-fallback", "/metrics", "/metrics", "head"),
    ("method-not-allowed", "/health", "/health", "post"),
    ("stats-window", "/api/v1/stats", "/api/v1/stats?window=30d&exchange=", "get"),
]
for name, pattern, target, method in router:
    write("router_query", name, (fdp_string(pattern) + target).encode() + bytes([methods[method]]))

# ---- exchange_mapping: '0' Binance offers, '1' Bybit offers, '2' pairs (config NUL fiats),
#      '3' Bybit's payment catalogue
binance = (fixtures / "binance_search.json").read_bytes()
bybit = (fixtures / "bybit_items.json").read_bytes()
write("exchange_mapping", "binance-search-fixture", b"0" + binance)
write("exchange_mapping", "bybit-items-fixture", b"1" + bybit)
write("exchange_mapping", "binance-pairs-fixtures",
      b"2" + (fixtures / "binance_portal_config.json").read_bytes() + b"\0"
      + (fixtures / "binance_fiat_list.json").read_bytes())
write("exchange_mapping", "bybit-payment-list-fixture", b"3" + (fixtures / "bybit_payment_list.json").read_bytes())
write("exchange_mapping", "binance-error-code", b'0{"code":"100001","message":"too many requests","data":null,"success":false}')
write("exchange_mapping", "bybit-error-code", b'1{"ret_code":10001,"ret_msg":"params error","result":null}')
write("exchange_mapping", "bybit-empty-page",
      b'1{"ret_code":0,"ret_msg":"SUCCESS","result":{"count":0,"items":null}}')
one_bybit = {"ret_code": 0, "ret_msg": "SUCCESS", "result": {"count": 1, "items": [
    {"id": "1899", "nickName": "Luis", "tokenId": "USDT", "currencyId": "VES", "side": 1, "price": 36.55,
     "lastQuantity": "1,250.5", "minAmount": "100.00", "maxAmount": "45000", "payments": ["14", "377"],
     "paymentTerms": [{"paymentType": 14, "paymentConfig": {"paymentName": " Bank Transfer "}}]}]}}
write("exchange_mapping", "bybit-number-price-and-terms", b"1" + json.dumps(one_bybit).encode())

# ---- decimal: text, or 'D' + a little-endian double
for i, text in enumerate(["36.50", " 1,234.50 ", "\t1,234,567.891\n", "007.10", ".5", "5.", "0.123456785",
                          "999,999,999,999.99999999", "999999999999.999999995", "1234567890123", "-1", "1,23.4",
                          "12e5", "0.000000005", "99.999999999"]):
    write("decimal", f"text-{i:02d}", text)
for name, d in [("36.5", 36.5), ("1e-9", 1e-9), ("max", 1.7976931348623157e308), ("neg", -0.5),
                ("1234.56789012345", 1234.56789012345)]:
    write("decimal", f"double-{name}", b"D" + struct.pack("<d", d))

# ---- settings: '0' env lines, '1' DATABASE_URL, '2' request URL, '3' proxy URL
env_seeds = {
    "env-prod": "APP_ENV=prod\nPORT=8080\nDATABASE_URL=postgresql://app:s3cret-pass-9@db:5432/offers\n"
                "API_KEYS=0123456789abcdef01,fedcba9876543210fe\nTHREADS=0\nLOG_FORMAT=json\n",
    "env-dev-pool": "APP_ENV=dev\nDATABASE_URL=postgresql+asyncpg://app@db/offers\nAPI_KEYS=k1\n"
                    "DB_POOL_SIZE=5\nDB_MAX_OVERFLOW=10\nDB_POOL_TIMEOUT=2.5\nDB_PRE_PING=off\n",
    "env-bad-port": "APP_ENV=test\nPORT=abc\nDATABASE_URL=postgresql://db/x\nAPI_KEYS=k\n",
    "env-upstream-proxy": "APP_ENV=test\nDATABASE_URL=postgresql://db/x\nAPI_KEYS=k\nUSE_ORIGIN_PROXY=true\n"
                          "ORIGIN_PROXY_URL=http://scraper:p%40ss@10.0.0.5:3128\nSHUTDOWN_DRAIN_SECONDS=0.5\n"
                          "TELEMETRY_ENABLED=yes\nMAX_HEADER_BYTES=8192\n",
}
for name, text in env_seeds.items():
    write("settings", name, "0" + text)
for i, url in enumerate(["postgresql://app:secret@db.internal:5433/offers",
                         "postgresql+asyncpg://app:secret@db:5432/offers",
                         "postgresql://app%2Bro:p%40ss%3Aw%2Frd%25@db/my%20db",
                         "postgresql://app:secret@[::1]:5433/offers",
                         "postgresql://app@%2Fvar%2Frun%2Fpostgresql/offers",
                         "postgresql://db/offers?sslmode=require&application_name=p2p%20dash&connect_timeout=",
                         "postgresql://o%27brien:it%27s%5Ca%20pw@db:6432/x%27y?options=-c%20search_path%3Dp2p",
                         "postgresql://app@db/offers?password=s3cr3t", "postgresql://h:/db"]):
    write("settings", f"database-url-{i}", "1" + url)
for i, url in enumerate(["https://p2p.binance.com/bapi/c2c/v2/friendly/c2c/adv/search",
                         "https://api2.bybit.com/fiat/otc/item/online", "http://127.0.0.1:8080",
                         "http://api.example.com/v1/offers?asset=USDT&fiat=EUR#frag", "https://[::1]:8443/x",
                         "ftp://user:hunter2@proxy:21"]):
    write("settings", f"target-url-{i}", "2" + url)
for i, url in enumerate(["http://scraper:p%40ss@10.0.0.5:3128", "http://proxy.internal", "https://proxy:443",
                         "http://[::1]:3128/"]):
    write("settings", f"proxy-url-{i}", "3" + url)


# ---- pg_result: FuzzedDataProvider layout. Integers and bools come from the
# end (last byte first), strings from the front.
def pg_seed(names, rows, tail_text=""):
    front, back = "", []
    cols = len(names)
    back.append(cols - 1)          # ConsumeIntegralInRange(1, 4)
    back.append(len(rows))         # ConsumeIntegralInRange(0, 4)
    for n in names:
        front += fdp_string(n)
    for row in rows:
        for cell in row:
            back.append(1 if cell is None else 0)  # ConsumeBool
            front += fdp_string("" if cell is None else cell)
    return (front + tail_text).encode() + bytes(reversed(back))


write("pg_result", "offer-row", pg_seed(["id", "price", "fetched_at", "active"],
      [["42", "36.50000000", "2026-11-23 09:32:53.573555+00", "t"],
       ["9223372036854775807", "0.00000001", "2024-02-29 23:59:59.999999+05:30", "f"]]))
write("pg_result", "nulls-and-floats", pg_seed(["n", "f"], [[None, "NaN"], ["-2147483648", "-Infinity"],
                                                            ["1e308", None]]))
write("pg_result", "stats-row", pg_seed(["count", "avg", "since"],
      [["12", "36.512345", "2026-11-23 01:00:00-03"]], "2026-11-23T09:32:53.5+05:30"))
write("pg_result", "bad-values", pg_seed(["x", "x"], [["2147483648", "tru"], ["007", "2026-13-01"]]))
