import org.apache.zookeeper.*;
import org.apache.zookeeper.data.*;
import java.util.*;
import java.util.concurrent.*;

/** Sets watches, prints READY, then expects the events that happen while its connection is
 *  dropped and re-established (session resume + setWatches2). Usage: HOST:PORT ROOT */
public class ZkReconnectCheck {
    public static void main(String[] a) throws Exception {
        String root = a[1];
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(a[0], 8000, e -> {
            if (e.getType() == Watcher.Event.EventType.None) {
                events.add("state " + e.getState());
                if (e.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
            } else {
                events.add("default " + e.getType() + " " + e.getPath());
            }
        });
        if (!connected.await(10, TimeUnit.SECONDS)) throw new AssertionError("connect");
        zk.create(root, "0".getBytes(), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.getData(root, e -> events.add("data " + e.getType() + " " + e.getPath()), null);
        zk.exists(root + "/new", e -> events.add("exists " + e.getType() + " " + e.getPath()));
        zk.addWatch(root + "/p", AddWatchMode.PERSISTENT_RECURSIVE);
        long sid = zk.getSessionId();
        events.clear();
        System.out.println("READY");
        System.out.flush();
        Set<String> want = new HashSet<>(Arrays.asList(
            "state Disconnected", "state SyncConnected",
            "data NodeDataChanged " + root, "exists NodeCreated " + root + "/new",
            "default NodeCreated " + root + "/p/after"));
        boolean away = false, created = false;
        long deadline = System.currentTimeMillis() + 30000;
        while (!want.isEmpty() && System.currentTimeMillis() < deadline) {
            String e = events.poll(1, TimeUnit.SECONDS);
            if (e != null) { System.out.println("event " + e); want.remove(e); }
            if ("state Disconnected".equals(e)) away = true;
            // The recursive watch must be re-armed after the reconnect (setWatches2).
            if (away && !created && "state SyncConnected".equals(e)) {
                while (zk.exists(root + "/p", false) == null) Thread.sleep(50);
                zk.create(root + "/p/after", null, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
                created = true;
            }
        }
        if (!want.isEmpty()) throw new AssertionError("missing " + want);
        if (zk.getSessionId() != sid) throw new AssertionError("new session");
        zk.close();
        System.out.println("ALL OK");
    }
}
