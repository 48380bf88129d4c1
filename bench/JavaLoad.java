// A reference load generator on Apache ZooKeeper's own Java client (async API), used by
// bench/compare to check that zk-bench drives at least 2x the load the Java client can from
// the same cores. Same key layout as zk-bench (<root>/k%08d).
//
// usage: java -cp /usr/share/java/zookeeper.jar:. JavaLoad HOST:PORT SESSIONS INFLIGHT
//          get|set KEYS DATA_SIZE DURATION_S WARMUP_S
// prints one JSON line: ops, ops_per_sec, errors, client_cpu_s, completed_all.

import java.lang.management.ManagementFactory;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

public class JavaLoad {
    static final LongAdder ops = new LongAdder();
    static final LongAdder all = new LongAdder();
    static final LongAdder errors = new LongAdder();
    static volatile boolean recording = false;

    public static void main(String[] a) throws Exception {
        String hosts = a[0];
        int sessions = Integer.parseInt(a[1]);
        int inflight = Integer.parseInt(a[2]);
        boolean get = a[3].equals("get");
        int keys = Integer.parseInt(a[4]);
        byte[] data = new byte[Integer.parseInt(a[5])];
        double duration = Double.parseDouble(a[6]);
        double warmup = Double.parseDouble(a[7]);
        String root = "/zk-bench";
        String[] paths = new String[keys];
        for (int i = 0; i < keys; i++) paths[i] = String.format("%s/k%08d", root, i);

        ZooKeeper[] zks = new ZooKeeper[sessions];
        for (int s = 0; s < sessions; s++) {
            CountDownLatch up = new CountDownLatch(1);
            zks[s] = new ZooKeeper(hosts, 30000, e -> {
                if (e.getState() == Watcher.Event.KeeperState.SyncConnected) up.countDown();
            });
            up.await();
        }
        try {
            zks[0].create(root, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        } catch (KeeperException.NodeExistsException e) {
        }
        for (String p : paths) {
            try {
                zks[0].create(p, data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            } catch (KeeperException.NodeExistsException e) {
            }
        }

        AtomicBoolean stop = new AtomicBoolean(false);
        Thread[] threads = new Thread[sessions];
        for (int s = 0; s < sessions; s++) {
            ZooKeeper zk = zks[s];
            Semaphore permits = new Semaphore(inflight);
            AsyncCallback.DataCallback dcb = (rc, path, ctx, d, st) -> done(rc, permits);
            AsyncCallback.StatCallback scb = (rc, path, ctx, st) -> done(rc, permits);
            final long seed = s * 7919L + 1;
            threads[s] = new Thread(() -> {
                java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
                while (!stop.get()) {
                    try {
                        permits.acquire();
                    } catch (InterruptedException e) {
                        return;
                    }
                    String p = paths[rnd.nextInt(keys)];
                    if (get) zk.getData(p, false, dcb, null);
                    else zk.setData(p, data, -1, scb, null);
                }
            });
        }
        long cpu0 = cpu();
        for (Thread t : threads) t.start();
        Thread.sleep((long) (warmup * 1000));
        recording = true;
        long t0 = System.nanoTime();
        Thread.sleep((long) (duration * 1000));
        recording = false;
        double secs = (System.nanoTime() - t0) / 1e9;
        stop.set(true);
        long cpu1 = cpu();
        long n = ops.sum();
        System.out.printf(
                "{\"ops\":%d,\"ops_per_sec\":%.1f,\"errors\":%d,\"client_cpu_s\":%.3f,\"completed_all\":%d}%n",
                n, n / secs, errors.sum(), (cpu1 - cpu0) / 1e9, all.sum());
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }

    static void done(int rc, Semaphore permits) {
        all.increment();
        if (recording) {
            if (rc == 0) ops.increment();
            else errors.increment();
        }
        permits.release();
    }

    static long cpu() {
        return ((com.sun.management.OperatingSystemMXBean)
                        ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }
}
