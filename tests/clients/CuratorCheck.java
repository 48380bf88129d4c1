import org.apache.curator.framework.*;
import org.apache.curator.framework.recipes.cache.*;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;
import java.util.*;
import java.util.concurrent.*;

/** Curator recipes against a ZooKeeper server. Usage: HOST:PORT ROOT */
public class CuratorCheck {
    static void check(boolean c, String what) { if (!c) throw new AssertionError(what); System.out.println("ok " + what); }
    public static void main(String[] a) throws Exception {
        String root = a[1];
        CuratorFramework cf = CuratorFrameworkFactory.newClient(a[0], 10000, 5000, new ExponentialBackoffRetry(100, 3));
        cf.start();
        check(cf.blockUntilConnected(10, TimeUnit.SECONDS), "connected");
        cf.create().creatingParentContainersIfNeeded().forPath(root + "/a/b/c", "x".getBytes());
        check(new String(cf.getData().forPath(root + "/a/b/c")).equals("x"), "parents as containers");
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        CuratorCache cache = CuratorCache.build(cf, root + "/cache");
        cache.listenable().addListener((type, oldData, data) -> events.add(type + " " + (data != null ? data.getPath() : oldData.getPath())));
        CountDownLatch init = new CountDownLatch(1);
        cache.listenable().addListener(CuratorCacheListener.builder().forInitialized(init::countDown).build());
        cf.create().forPath(root + "/cache", new byte[0]);
        cache.start();
        check(init.await(10, TimeUnit.SECONDS), "cache initialized");
        cf.create().forPath(root + "/cache/x", "1".getBytes());
        cf.create().forPath(root + "/cache/x/y", "2".getBytes());
        cf.setData().forPath(root + "/cache/x", "3".getBytes());
        cf.delete().forPath(root + "/cache/x/y");
        Set<String> want = new HashSet<>(Arrays.asList("NODE_CREATED " + root + "/cache/x", "NODE_CREATED " + root + "/cache/x/y",
            "NODE_CHANGED " + root + "/cache/x", "NODE_DELETED " + root + "/cache/x/y"));
        long deadline = System.currentTimeMillis() + 10000;
        while (!want.isEmpty() && System.currentTimeMillis() < deadline) {
            String e = events.poll(1, TimeUnit.SECONDS);
            if (e != null) want.remove(e);
        }
        check(want.isEmpty(), "CuratorCache events (missing " + want + ")");
        cache.close();
        InterProcessMutex m1 = new InterProcessMutex(cf, root + "/lock");
        InterProcessMutex m2 = new InterProcessMutex(cf, root + "/lock");
        check(m1.acquire(5, TimeUnit.SECONDS), "lock acquired");
        ExecutorService ex = Executors.newSingleThreadExecutor();
        Future<Boolean> other = ex.submit(() -> m2.acquire(300, TimeUnit.MILLISECONDS));
        check(!other.get(), "lock excludes");
        Future<Boolean> later = ex.submit(() -> { boolean ok = m2.acquire(5, TimeUnit.SECONDS); if (ok) m2.release(); return ok; });
        m1.release();
        check(later.get(), "lock handed over");
        ex.shutdown();
        LeaderLatch l1 = new LeaderLatch(cf, root + "/leader", "one");
        LeaderLatch l2 = new LeaderLatch(cf, root + "/leader", "two");
        l1.start(); l2.start();
        long until = System.currentTimeMillis() + 10000;
        while (!l1.hasLeadership() && !l2.hasLeadership() && System.currentTimeMillis() < until) Thread.sleep(20);
        check(l1.hasLeadership() != l2.hasLeadership(), "exactly one leader");
        LeaderLatch leader = l1.hasLeadership() ? l1 : l2, follower = leader == l1 ? l2 : l1;
        leader.close();
        check(follower.await(5, TimeUnit.SECONDS), "leadership moves");
        follower.close();
        PersistentNode pn = new PersistentNode(cf, CreateMode.EPHEMERAL, false, root + "/pn", "p".getBytes());
        pn.start();
        check(pn.waitForInitialCreate(5, TimeUnit.SECONDS), "persistent ephemeral node");
        pn.close();
        cf.inTransaction().create().forPath(root + "/t1").and().setData().forPath(root + "/t1", "t".getBytes()).and().commit();
        check(new String(cf.getData().forPath(root + "/t1")).equals("t"), "transaction");
        cf.delete().deletingChildrenIfNeeded().forPath(root);
        check(cf.checkExists().forPath(root) == null, "recursive delete");
        cf.close();
        System.out.println("ALL OK");
    }
}
