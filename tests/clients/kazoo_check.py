"""kazoo against a ZooKeeper server: create, get, set, delete, watches, ephemeral, sequential,
transactions and ACLs. Usage: kazoo_check.py HOST:PORT ROOT. Exits non-zero on the first failure."""
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NoAuthError, NodeExistsError, NotEmptyError, NoNodeError
from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE

hosts, root = sys.argv[1], sys.argv[2]


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok", what, flush=True)


zk = KazooClient(hosts=hosts, timeout=10)
zk.start(timeout=10)
zk.create(root, b"r")
data, stat = zk.get(root)
check(data == b"r" and stat.version == 0, "create/get")
fired = threading.Event()
events = []


def on_data(ev):
    events.append(ev)
    fired.set()


zk.get(root, watch=on_data)
zk.set(root, b"r2")
check(fired.wait(5) and events[0].type == "CHANGED" and events[0].path == root, "data watch")
try:
    zk.set(root, b"x", version=9)
    check(False, "bad version")
except BadVersionError:
    check(True, "bad version")
fired.clear()
zk.get_children(root, watch=on_data)
e = zk.create(root + "/e", b"", ephemeral=True)
check(fired.wait(5) and events[-1].type == "CHILD", "child watch")
check(zk.exists(e).ephemeralOwner == zk.client_id[0], "ephemeral owner")
s1 = zk.create(root + "/s-", b"", sequence=True)
s2 = zk.create(root + "/s-", b"", sequence=True)
check(s1.endswith("-0000000001") and s2.endswith("-0000000002"), "sequential %s %s" % (s1, s2))
try:
    zk.create(root + "/e")
    check(False, "exists")
except NodeExistsError:
    check(True, "node exists")
t = zk.transaction()
t.create(root + "/t1", b"a")
t.check(root, 1)
t.set_data(root + "/t1", b"b")
res = t.commit()
check(res[0] == root + "/t1" and res[1] is True, "transaction")
t = zk.transaction()
t.create(root + "/t2", b"a")
t.delete(root + "/missing")
res = t.commit()
check(isinstance(res[1], NoNodeError) and zk.exists(root + "/t2") is None, "transaction rollback")
zk.add_auth("digest", "kz:secret")
zk.create(root + "/acl", b"s", acl=[make_digest_acl("kz", "secret", all=True)])
check(zk.get_acls(root + "/acl")[0][0].id.scheme == "digest", "digest acl")
other = KazooClient(hosts=hosts, timeout=10)
other.start(timeout=10)
try:
    other.get(root + "/acl")
    check(False, "no auth")
except NoAuthError:
    check(True, "no auth")
other.stop()
try:
    zk.delete(root)
    check(False, "not empty")
except NotEmptyError:
    check(True, "not empty")
zk.delete(root, recursive=True)
check(zk.exists(root) is None, "recursive delete")
check(zk.command(b"ruok") == "imok", "ruok")
zk.stop()
print("ALL OK")
