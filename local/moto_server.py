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


def undo_cancelled_transactions_in_place() -> None:
    """moto's transact_write_items backs up every table it writes to by deep-copying the whole
    table (its items and every stream record it ever produced), and on a cancel swaps the copy
    in. On a table that a test run keeps filling, each transaction then costs time in
    proportion to everything written before it, and each cancelled one leaves the old table
    object alive (open stream iterators still point at it): the emulator slowed down and grew
    to gigabytes over one `npm test`. A cancelled transaction's writes also stayed visible
    through an iterator taken before it, which DynamoDB never shows.

    Here the backup is an undo journal instead: before moto runs the transaction, a deep copy
    of each item the transaction names (or "absent") and the length of each table's stream;
    on any failure those items are put back and the stream is cut to its old length, on the
    same table object. The cost is that of the items touched, as in DynamoDB."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    real_copy = models.copy

    class NoTableCopies:
        """Stands in for the `copy` module inside the call: tables are not copied (the journal
        restores them), anything else is."""

        def deepcopy(self, value, *args):  # type: ignore[no-untyped-def]
            if isinstance(value, Table) and not args:
                return value
            return real_copy.deepcopy(value, *args)

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(real_copy, name)

    original = models.DynamoDBBackend.transact_write_items

    def journal(backend, transact_items):  # type: ignore[no-untyped-def]
        items = []
        streams = {}
        for entry in transact_items:
            try:
                op = next(iter(entry.values()))
                table = backend.get_table(op["TableName"])
                if "Item" in op:
                    attrs = op["Item"]
                    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs[table.range_key_attr]
                else:
                    key = op["Key"]
                hash_value, range_value = backend.get_keys_value(table, key)
                current = table.get_item(hash_value, range_value)
            except Exception:
                # moto itself refuses this entry before writing anything for it.
                continue
            items.append((table, hash_value, range_value, real_copy.deepcopy(current)))
            shard = table.stream_shard
            if shard is not None and id(table) not in streams:
                streams[id(table)] = (shard, len(shard.items))
        return items, list(streams.values())

    def undo(items, streams) -> None:  # type: ignore[no-untyped-def]
        for table, hash_value, range_value, before in reversed(items):
            if range_value is None:
                if before is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = before
                continue
            bucket = table.items[hash_value]
            if before is None:
                bucket.pop(range_value, None)
                if not bucket:
                    table.items.pop(hash_value, None)
            else:
                bucket[range_value] = before
        for shard, length in streams:
            del shard.items[length:]

    def transact_write_items(self, transact_items):  # type: ignore[no-untyped-def]
        items, streams = journal(self, transact_items)
        # Single-threaded server (see above): swapping the module's `copy` for the call is safe.
        models.copy = NoTableCopies()
        try:
            return original(self, transact_items)
        except BaseException:
            undo(items, streams)
            raise
        finally:
            models.copy = real_copy

    models.DynamoDBBackend.transact_write_items = transact_write_items


def queries_without_sorting_the_table() -> None:
    """moto's Table.query starts from all_items(), which lists and SORTS every item of the
    table (by hash and range key, comparing moto's DynamoType objects in Python) for every
    Query, even one of a single partition; then it keeps only the items of the queried key and
    sorts those again. On a table the load run keeps filling, that sort was nine tenths of the
    emulator's time (py-spy), and create latency grew with every payment written before it.

    Here a Query of the table starts from its one partition (moto keeps items in a dict by hash
    key), and a Query of an index from the items unsorted: the result is the same, since moto
    sorts what matched by the queried key order before it applies limits and pagination. What
    is left is linear in the table for an index Query (moto keeps no index structure), as a
    Scan is; DynamoDB's own cost is that of the items read."""
    import inspect

    from moto.dynamodb.models.table import Table

    original = Table.query
    signature = inspect.signature(original)

    def unsorted_items(table, hash_key, index_name):  # type: ignore[no-untyped-def]
        if index_name is None and hash_key is not None:
            bucket = table.items.get(hash_key)
            if bucket is None:
                return []
            return list(bucket.values()) if table.range_key_attr else [bucket]
        if table.range_key_attr:
            return [item for bucket in table.items.values() for item in bucket.values()]
        return list(table.items.values())

    def query(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        bound = signature.bind(self, *args, **kwargs)
        candidates = unsorted_items(
            self, bound.arguments.get("hash_key"), bound.arguments.get("index_name")
        )
        # Single-threaded server: shadowing the method on this one table for the call is safe.
        self.all_items = lambda: candidates
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query


def keep_no_list_of_every_object() -> None:
    """moto's BaseModel appends every model object it ever creates to a list on its class
    (`instances_tracked`, for moto's /moto-api/data.json dashboard and its reset), and nothing
    takes them out. DynamoDB's Item is one: every item written, every copy moto makes of one for
    a Query, a condition check or a stream image, stayed alive for the life of the server. That,
    not the data, was what grew: after 220 payments of `npm run load`, 18,353 Item objects for
    1,769 stored items, and moto at 3.1 GB after 5,000 payments.

    Here model objects are created without being listed, so a copy is freed when moto is done
    with it. The cost: /moto-api/data.json lists nothing (nothing here uses it)."""
    from moto.core.common_models import BaseModel

    def new_untracked(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
        return object.__new__(cls)

    BaseModel.__new__ = staticmethod(new_untracked)  # type: ignore[method-assign,assignment]


def keep_stream_records_packed() -> None:
    """moto keeps every stream record for the life of the server (DynamoDB keeps them 24 hours),
    each as nested dicts: the keys and the old and new images of the item in DynamoDB JSON, one
    dict per attribute and one per value. A payment writes about ten records of two images each,
    so the records, not the table, were most of moto's growth over a soak (about 24 MB per 100
    payments, and past 1 GB over 5,000).

    Here each record is kept pickled (bytes, about a third of the memory, every type exactly as
    moto made it, datetimes and binary included) and unpickled when a reader gets it. Nothing
    else changes: every record stays, in order, with its sequence number."""
    import pickle

    from moto.dynamodb.models.table import StreamRecord

    original = StreamRecord.__init__

    def packed_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        self.packed = pickle.dumps(self.__dict__.pop("record"), pickle.HIGHEST_PROTOCOL)

    def to_json(self):  # type: ignore[no-untyped-def]
        return pickle.loads(self.packed)

    StreamRecord.__init__ = packed_init  # type: ignore[method-assign]
    StreamRecord.to_json = to_json  # type: ignore[method-assign]


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
    undo_cancelled_transactions_in_place()
    queries_without_sorting_the_table()
    keep_no_list_of_every_object()
    keep_stream_records_packed()
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
