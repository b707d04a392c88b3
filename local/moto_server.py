"""Serves moto's AWS emulator (used here for DynamoDB) on 127.0.0.1, ONE REQUEST AT A TIME.

Started by local/dynamodb.ts with the interpreter of .local/venv:
    .local/venv/bin/python local/moto_server.py PORT

Why not `moto_server`: its CLI calls werkzeug's run_simple(..., threaded=True), so requests
are handled on concurrent threads. moto's DynamoDB backend does not lock around a
conditional write or a transaction (check the condition, then write), so two concurrent
conditional writes of the same key could both pass. Real DynamoDB applies each conditional
write atomically and each transaction as one serializable step; serving from a single
thread gives the same guarantee, so concurrency tests measure our code, not the emulator.

Single-threaded also means HTTP/1.0 (one request per connection): with keep-alive, one idle
client connection would block every other client.

The server exits when its standard input closes, i.e. when the parent process dies, even
if the parent was killed without a chance to stop it.
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer

HOST = "127.0.0.1"


class SingleRequestHandler(MotoRequestHandler):
    # Close the connection after each response (no keep-alive; see the module docstring).
    protocol_version = "HTTP/1.0"


def exit_when_parent_goes() -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main() -> None:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        print("usage: moto_server.py PORT", file=sys.stderr)
        sys.exit(2)
    port = int(sys.argv[1])

    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)

    # BaseWSGIServer (not ThreadedWSGIServer) serves requests sequentially on this thread.
    server = BaseWSGIServer(HOST, port, app, handler=SingleRequestHandler)
    assert not server.multithread and not server.multiprocess

    threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    print(f"moto listening on http://{HOST}:{server.port} (single-threaded)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
