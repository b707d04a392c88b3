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


def copy_tables_once_per_transaction() -> None:
    """moto's transact_write_items backs up a table by deep-copying it once per write in the
    transaction, not once per table: a 100-write transaction copies the whole table 100 times,
    seconds on a table the tests have filled (DynamoDB itself takes milliseconds). The backup
    is taken before any write, so one copy per table is the same backup."""
    import copy

    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    class TableCopies:
        def __init__(self) -> None:
            # Keyed by id, holding the original too, so that no id is reused during the call.
            self.copies: dict[int, tuple[object, object]] = {}

        def deepcopy(self, value, *args):  # type: ignore[no-untyped-def]
            if not isinstance(value, Table) or args:
                return copy.deepcopy(value, *args)
            if id(value) not in self.copies:
                self.copies[id(value)] = (value, copy.deepcopy(value))
            return self.copies[id(value)][1]

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(copy, name)

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):  # type: ignore[no-untyped-def]
        # Single-threaded server (see above): swapping the module's `copy` for the call is safe.
        models.copy = TableCopies()
        try:
            return original(self, transact_items)
        finally:
            models.copy = copy

    models.DynamoDBBackend.transact_write_items = transact_write_items


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
    copy_tables_once_per_transaction()
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
