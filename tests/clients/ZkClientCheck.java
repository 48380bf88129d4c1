import org.apache.zookeeper.*;
import org.apache.zookeeper.data.*;
import java.util.*;
import java.util.concurrent.*;

public class ZkClientCheck { static String R;
    static void check(boolean c, String what) { if (!c) throw new AssertionError(what); System.out.println("ok " + what); }
    public static void main(String[] a) throws Exception {
        R = a[1]; BlockingQueue<WatchedEvent> events = new LinkedBlockingQueue<>();
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(a[0], 10000, e -> { if (e.getState() == Watcher.Event.KeeperState.SyncConnected && e.getType() == Watcher.Event.EventType.None) connected.countDown(); });
        check(connected.await(10, TimeUnit.SECONDS), "connected");
        Stat st = new Stat();
        String p = zk.create(R + "", "v1".getBytes(), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, st);
        check(p.equals(R + "") && st.getVersion() == 0, "create2");
        check(new String(zk.getData(R + "", e -> events.add(e), st)).equals("v1"), "getData");
        zk.setData(R + "", "v2".getBytes(), 0);
        WatchedEvent ev = events.poll(5, TimeUnit.SECONDS);
        check(ev != null && ev.getType() == Watcher.Event.EventType.NodeDataChanged && ev.getPath().equals(R + ""), "data watch");
        try { zk.setData(R + "", "x".getBytes(), 7); check(false, "badversion"); } catch (KeeperException.BadVersionException e) { check(true, "badversion"); }
        zk.getChildren(R + "", e -> events.add(e));
        String eph = zk.create(R + "/e", null, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        ev = events.poll(5, TimeUnit.SECONDS);
        check(ev != null && ev.getType() == Watcher.Event.EventType.NodeChildrenChanged, "child watch");
        check(zk.exists(eph, false).getEphemeralOwner() == zk.getSessionId(), "ephemeral owner");
        check(zk.getData(eph, false, null) == null, "null data");
        String s1 = zk.create(R + "/s-", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL);
        check(s1.equals(R + "/s-0000000001"), "sequential " + s1);
        try { zk.create(R + "/e/c", null, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT); check(false, "x"); } catch (KeeperException.NoChildrenForEphemeralsException e) { check(true, "no children for ephemerals"); }
        List<OpResult> rs = zk.multi(Arrays.asList(Op.create(R + "/m", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT), Op.check(R + "", 1), Op.setData(R + "/m", "m".getBytes(), -1)));
        check(rs.size() == 3, "multi");
        try { zk.multi(Arrays.asList(Op.create(R + "/m2", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT), Op.delete("/nope", -1))); check(false, "x"); }
        catch (KeeperException.NoNodeException e) { check(e.getResults().get(0) instanceof OpResult.ErrorResult, "multi failure"); }
        check(zk.exists(R + "/m2", false) == null, "multi atomic");
        List<OpResult> rr = zk.multi(Arrays.asList(Op.getData(R + ""), Op.getChildren("/nope")));
        check(rr.size() == 2, "multiRead");
        zk.addAuthInfo("digest", "u:p".getBytes());
        zk.create(R + "/acl", "s".getBytes(), ZooDefs.Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT);
        check(zk.getACL(R + "/acl", st).get(0).getId().getScheme().equals("digest"), "acl digest");
        ZooKeeper other = new ZooKeeper(a[0], 10000, e -> {});
        try { other.getData(R + "/acl", false, null); check(false, "x"); } catch (KeeperException.NoAuthException e) { check(true, "noauth"); }
        List<ACL> mixed = new ArrayList<>(ZooDefs.Ids.CREATOR_ALL_ACL); mixed.addAll(ZooDefs.Ids.READ_ACL_UNSAFE);
        zk.create(R + "/acl2", "s".getBytes(), mixed, CreateMode.PERSISTENT);
        check(other.getACL(R + "/acl2", st).get(0).getId().getId().equals("u:x"), "acl masked");
        other.close();
        zk.addWatch(R + "", AddWatchMode.PERSISTENT_RECURSIVE);
        zk.create(R + "/m/deep", null, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        ev = events.poll(5, TimeUnit.SECONDS);
        // the persistent watch goes to the default watcher, not events
        check(zk.getAllChildrenNumber(R + "") == 6, "allChildrenNumber " + zk.getAllChildrenNumber(R));
        check(zk.getEphemerals(R + "").size() == 1, "getEphemerals");
        check(zk.whoAmI().size() >= 2, "whoAmI");
        zk.create(R + "/c", null, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.CONTAINER);
        zk.create(R + "/t", null, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_WITH_TTL, st, 60000);
        check(st.getEphemeralOwner() == 0, "ttl owner hidden");
        Watcher w = e -> events.add(e);
        zk.exists(R + "/later", w);
        zk.removeWatches(R + "/later", w, Watcher.WatcherType.Any, false);
        check(true, "removeWatches");
        zk.sync(R + "", (rc, path, ctx) -> {}, null);
        zk.delete(R + "/s-0000000001", -1);
        try { zk.delete(R + "", -1); check(false, "x"); } catch (KeeperException.NotEmptyException e) { check(true, "notempty"); }
        zk.close();
        System.out.println("ALL OK");
    }
}
