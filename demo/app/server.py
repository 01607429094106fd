"""The demo app: GET / records the visit in Postgres and reads back how many there were; GET /up says ok."""
import http.server
import os
import signal
import subprocess
import sys

QUERY = ("CREATE TABLE IF NOT EXISTS visits (at timestamptz NOT NULL DEFAULT now()); "
         "INSERT INTO visits DEFAULT VALUES; "
         "SELECT count(*) || ' visits, read from ' || split_part(version(), ' on ', 1) FROM visits")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # pylint: disable=invalid-name
        if self.path == "/up":
            return self.answer(200, "ok")
        res = subprocess.run(["psql", "-q", os.environ["DATABASE_URL"], "-tAc", QUERY], capture_output=True, text=True,
                             timeout=10, check=False)
        if res.returncode != 0:
            return self.answer(503, "the database does not answer yet: %s" % res.stderr.strip())
        greeting, version = os.environ.get("GREETING", "hello"), os.environ.get("KAMAL_VERSION", "?")[:12]
        return self.answer(200, "%s (version %s): %s" % (greeting, version, res.stdout.strip()))

    def answer(self, status, text):
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


if __name__ == "__main__":
    # PID 1 in its container: without a handler SIGTERM would be ignored and every stop would wait for the kill.
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
    server = http.server.ThreadingHTTPServer((os.environ.get("BIND_HOST", "0.0.0.0"), 8080), Handler)
    server.serve_forever()
