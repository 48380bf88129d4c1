// A Curator 5.4 peer for the zk-recipes interop tests. Usage:
//   CuratorPeer <connect> mutex <lockPath> <rounds>
//       Increments /interop/counter ("<n>:<last writer>") `rounds` times under an InterProcessMutex; while
//       holding, it creates the EPHEMERAL /interop/holder (NodeExists = two holders at once).
//       Prints READY, then DONE <violations> <rounds that followed a Rust writer>.
//   CuratorPeer <connect> latch <path> <id>
//       Joins a LeaderLatch; prints STARTED, ISLEADER, NOTLEADER; reads commands on stdin:
//       "leader" -> LEADERID <id> <hasLeadership>, "participants" -> PARTICIPANTS <id,...>,
//       "close" -> CLOSED and exit.
//   CuratorPeer <connect> cmd
//       Prints READY, then runs one command per stdin line and answers one line:
//       "rw <path>" -> OK; "wtry <ms>" -> WTRY <acquired>; "wrel" -> WREL; "rtry <ms>" ->
//       RTRY <acquired>; "rrel" -> RREL (InterProcessReadWriteLock);
//       "sem <path> <max>" -> OK; "stry <ms>" -> STRY <acquired>; "srel" -> SREL
//       (InterProcessSemaphoreV2 leases); "quit" exits.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;

public class CuratorPeer {
    static synchronized void say(String s) {
        System.out.println(s);
        System.out.flush();
    }

    public static void main(String[] a) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.builder()
            .connectString(a[0])
            .retryPolicy(new ExponentialBackoffRetry(100, 10))
            .sessionTimeoutMs(10000)
            .connectionTimeoutMs(10000)
            .ensembleTracker(false)
            .build();
        c.start();
        c.blockUntilConnected();
        if (a[1].equals("mutex")) {
            InterProcessMutex m = new InterProcessMutex(c, a[2]);
            int rounds = Integer.parseInt(a[3]);
            int violations = 0;
            int handoffs = 0;
            say("READY");
            for (int i = 0; i < rounds; i++) {
                m.acquire();
                try {
                    c.create().withMode(CreateMode.EPHEMERAL).forPath("/interop/holder");
                } catch (KeeperException.NodeExistsException e) {
                    violations++;
                }
                byte[] d = c.getData().forPath("/interop/counter");
                String[] v = new String(d, StandardCharsets.UTF_8).split(":");
                int n = Integer.parseInt(v[0]);
                if (!v[1].equals("java")) handoffs++;
                Thread.sleep(1);
                c.setData().forPath("/interop/counter",
                    (Integer.toString(n + 1) + ":java").getBytes(StandardCharsets.UTF_8));
                c.delete().forPath("/interop/holder");
                m.release();
            }
            say("DONE " + violations + " " + handoffs);
        } else if (a[1].equals("cmd")) {
            InterProcessReadWriteLock rw = null;
            InterProcessSemaphoreV2 sem = null;
            List<Lease> leases = new ArrayList<>();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
            say("READY");
            String line;
            while ((line = in.readLine()) != null) {
                String[] w = line.split(" ");
                if (w[0].equals("rw")) {
                    rw = new InterProcessReadWriteLock(c, w[1]);
                    say("OK");
                } else if (w[0].equals("wtry")) {
                    say("WTRY " + rw.writeLock().acquire(Long.parseLong(w[1]), TimeUnit.MILLISECONDS));
                } else if (w[0].equals("wrel")) {
                    rw.writeLock().release();
                    say("WREL");
                } else if (w[0].equals("rtry")) {
                    say("RTRY " + rw.readLock().acquire(Long.parseLong(w[1]), TimeUnit.MILLISECONDS));
                } else if (w[0].equals("rrel")) {
                    rw.readLock().release();
                    say("RREL");
                } else if (w[0].equals("sem")) {
                    sem = new InterProcessSemaphoreV2(c, w[1], Integer.parseInt(w[2]));
                    say("OK");
                } else if (w[0].equals("stry")) {
                    Lease l = sem.acquire(Long.parseLong(w[1]), TimeUnit.MILLISECONDS);
                    if (l != null) leases.add(l);
                    say("STRY " + (l != null));
                } else if (w[0].equals("srel")) {
                    leases.remove(0).close();
                    say("SREL");
                } else if (w[0].equals("quit")) {
                    break;
                }
            }
        } else {
            LeaderLatch l = new LeaderLatch(c, a[2], a[3]);
            l.addListener(new LeaderLatchListener() {
                public void isLeader() { say("ISLEADER"); }
                public void notLeader() { say("NOTLEADER"); }
            });
            l.start();
            say("STARTED");
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
            String line;
            while ((line = in.readLine()) != null) {
                if (line.equals("leader")) {
                    say("LEADERID " + l.getLeader().getId() + " " + l.hasLeadership());
                } else if (line.equals("participants")) {
                    StringBuilder b = new StringBuilder();
                    for (Participant p : l.getParticipants()) {
                        if (b.length() > 0) b.append(',');
                        b.append(p.getId());
                    }
                    say("PARTICIPANTS " + b);
                } else if (line.equals("close")) {
                    l.close();
                    say("CLOSED");
                    break;
                }
            }
        }
        c.close();
    }
}
