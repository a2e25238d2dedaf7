"""The pooled random ids and nonces (hub_runtime.ids)."""

import os
import threading
import uuid

from hub_runtime import ids


def test_ids_are_version_4_uuids_and_never_repeat_across_threads():
    seen: list[str] = []

    def draw():
        seen.extend(ids.uuid4_hex() for _ in range(2000))

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == len(seen) == 16000
    parsed = uuid.UUID(hex=seen[0])
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and parsed.hex == seen[0]
    assert len(ids.random_hex(16)) == 32 and len(ids.random_bytes(5000)) == 5000  # larger than a block


def test_a_forked_child_never_repeats_its_parents_bytes():
    ids.random_bytes(1)  # the parent's pool holds bytes not yet handed out
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what it draws next
        os.write(write, ids.random_bytes(32))
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 32)
    os.close(read)
    os.close(write)
    assert ids.random_bytes(32) != child
