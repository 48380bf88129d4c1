#!/usr/bin/env python3
"""kazoo sessions that use an ensemble the way applications do while its members are
replaced one at a time (tests/tests/mixed_rolling_migration.rs).

Usage: kazoo_migration.py HOSTS ROOT STOP_FILE MAX_SECONDS

Under ROOT (created):
  * three sessions contend for a kazoo Lock (ROOT/lock); a holder creates the EPHEMERAL
    ROOT/lock-holder while it holds: a NodeExists from another session's node is two holders;
  * three sessions run a kazoo Election (ROOT/election); a leader creates the EPHEMERAL
    ROOT/leader for half a second, then gives the leadership up: NodeExists from another
    session's node is two leaders;
  * each of those six sessions keeps the EPHEMERAL ROOT/members/<name>, created at the start:
    at the end every one must still be there, owned by the same session;
  * a writer session sets ROOT/watched to 1, 2, 3, ... every 100 ms; a watcher session
    follows it with a DataWatch (re-armed by kazoo after every reconnect): at the end it must
    have seen the last value written.

Every session's state changes are counted; a LOST (an expired session) is a failure, and so is
a session id that changed. Runs until STOP_FILE exists (or MAX_SECONDS), then prints
"STAT <name> <integer>" lines, a "MISSING <what>" line per member node not intact, up to 20
"ERROR <sample>" lines, then "DONE", and exits 0 (the test judges the result).
"""

import os
import random
import sys
import threading
import time

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import KazooException, NodeExistsError, NoNodeError

HOSTS, ROOT, STOP_FILE, MAX_SECONDS = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
DEADLINE = time.time() + MAX_SECONDS

lock = threading.Lock()
counts = {
    "lock_acquisitions": 0,
    "double_holders": 0,
    "leaderships": 0,
    "double_leaders": 0,
    "lost": 0,
    "suspended": 0,
    "reconnected": 0,
    "errors": 0,
}
error_samples = []


def count(name, n=1):
    with lock:
        counts[name] += n


def error(where, e):
    with lock:
        counts["errors"] += 1
        if len(error_samples) < 20:
            error_samples.append("%s: %r" % (where, e))


def stopped():
    return os.path.exists(STOP_FILE) or time.time() > DEADLINE


def session(name):
    # Retries without a limit: a member may be down for seconds while it is replaced.
    retry = {"max_tries": -1, "delay": 0.05, "max_delay": 1.0}
    c = KazooClient(
        hosts=HOSTS,
        timeout=30.0,
        connection_retry=dict(retry),
        command_retry=dict(retry),
    )

    def listener(state):
        if state == KazooState.LOST:
            count("lost")
        elif state == KazooState.SUSPENDED:
            count("suspended")
        elif state == KazooState.CONNECTED:
            count("reconnected")

    c.start(timeout=30)
    c.add_listener(listener)
    return c


def claim(c, path):
    """Creates the ephemeral token `path`; False when another session holds it."""
    try:
        c.retry(c.create, path, b"", ephemeral=True)
        return True
    except NodeExistsError:
        # Ours when our own create's reply was lost and the retry found it.
        try:
            _, stat = c.retry(c.get, path)
        except NoNodeError:
            return claim(c, path)
        return stat.ephemeralOwner == c.client_id[0]


def unclaim(c, path):
    try:
        c.retry(c.delete, path)
    except NoNodeError:
        pass


def locker(c, name):
    rng = random.Random(name)
    while not stopped():
        lk = c.Lock(ROOT + "/lock", name)
        try:
            if not lk.acquire(timeout=30):
                continue
            try:
                if not claim(c, ROOT + "/lock-holder"):
                    count("double_holders")
                else:
                    count("lock_acquisitions")
                    time.sleep(rng.uniform(0.01, 0.1))
                    unclaim(c, ROOT + "/lock-holder")
            finally:
                lk.release()
        except KazooException as e:
            error("lock " + name, e)
            time.sleep(0.1)


def candidate(c, name):
    def lead():
        if not claim(c, ROOT + "/leader"):
            count("double_leaders")
            return
        count("leaderships")
        time.sleep(0.5)
        unclaim(c, ROOT + "/leader")

    while not stopped():
        try:
            c.Election(ROOT + "/election", name).run(lead)
        except KazooException as e:
            error("election " + name, e)
            time.sleep(0.1)


def main():
    admin = session("admin")
    for p in ("/members", "/lock", "/election"):
        admin.ensure_path(ROOT + p)
    admin.retry(admin.create, ROOT + "/watched", b"0")

    names = ["locker-%d" % i for i in range(3)] + ["candidate-%d" % i for i in range(3)]
    sessions = {}
    for n in names:
        c = session(n)
        c.retry(c.create, ROOT + "/members/" + n, n.encode(), ephemeral=True)
        sessions[n] = (c, c.client_id[0])

    watcher = session("watcher")
    seen = {"last": 0, "events": 0}

    def on_change(data, stat):
        if data is not None:
            with lock:
                seen["last"] = max(seen["last"], int(data))
                seen["events"] += 1

    watcher.DataWatch(ROOT + "/watched", on_change)

    threads = []
    for n in names:
        target = locker if n.startswith("locker") else candidate
        t = threading.Thread(target=target, args=(sessions[n][0], n), daemon=True)
        t.start()
        threads.append(t)

    written = 0
    writer = admin
    while not stopped():
        try:
            writer.retry(writer.set, ROOT + "/watched", str(written + 1).encode())
            written += 1
        except KazooException as e:
            error("writer", e)
        time.sleep(0.1)

    for t in threads:
        t.join(timeout=60)
    alive = sum(1 for t in threads if t.is_alive())

    # The last value reaches the watcher (it was acknowledged; the watch fires soon after).
    until = time.time() + 20
    while time.time() < until:
        with lock:
            if seen["last"] >= written:
                break
        time.sleep(0.05)

    # Every member node is there, owned by the session that created it, which is still the
    # same session.
    admin.sync(ROOT + "/members")
    missing = []
    for n, (c, sid) in sessions.items():
        if c.client_id[0] != sid:
            missing.append("%s: session changed" % n)
            continue
        try:
            _, stat = admin.retry(admin.get, ROOT + "/members/" + n)
            if stat.ephemeralOwner != sid:
                missing.append("%s: owned by %x" % (n, stat.ephemeralOwner))
        except NoNodeError:
            missing.append("%s: gone" % n)

    stats = dict(counts)
    stats.update(
        {
            "watch_written": written,
            "watch_last_seen": seen["last"],
            "watch_events": seen["events"],
            "ephemerals_missing": len(missing),
            "threads_stuck": alive,
        }
    )
    for k, v in sorted(stats.items()):
        print("STAT %s %d" % (k, v))
    for m in missing:
        print("MISSING " + m)
    for e in error_samples:
        print("ERROR " + e)
    print("DONE", flush=True)
    for c, _ in sessions.values():
        c.stop()
        c.close()
    watcher.stop()
    watcher.close()
    admin.stop()
    admin.close()


main()
