import org.apache.zookeeper.*;
import org.apache.zookeeper.data.*;
import java.util.*;
import java.util.concurrent.*;

/** SASL DIGEST-MD5 through the Java client's own SASL client (JAAS "Client" section given by
 *  -Djava.security.auth.login.config). Args: connect string, path, "good" or "bad" password. */
public class ZkSaslCheck {
    static void check(boolean c, String what) { if (!c) throw new AssertionError(what); System.out.println("ok " + what); }
    public static void main(String[] a) throws Exception {
        BlockingQueue<Watcher.Event.KeeperState> states = new LinkedBlockingQueue<>();
        ZooKeeper zk = new ZooKeeper(a[0], 10000, e -> { if (e.getType() == Watcher.Event.EventType.None) states.add(e.getState()); });
        check(states.poll(10, TimeUnit.SECONDS) == Watcher.Event.KeeperState.SyncConnected, "connected");
        Watcher.Event.KeeperState s = states.poll(10, TimeUnit.SECONDS);
        if (a[2].equals("bad")) {
            check(s == Watcher.Event.KeeperState.AuthFailed, "auth failed: " + s);
            zk.close();
            System.out.println("ALL OK");
            return;
        }
        check(s == Watcher.Event.KeeperState.SaslAuthenticated, "sasl authenticated: " + s);
        boolean found = false;
        for (org.apache.zookeeper.data.ClientInfo ci : zk.whoAmI()) found |= ci.getAuthScheme().equals("sasl") && ci.getUser().equals("jaasuser");
        check(found, "whoAmI lists sasl:jaasuser");
        List<ACL> acl = Collections.singletonList(new ACL(ZooDefs.Perms.ALL, new Id("sasl", "jaasuser")));
        zk.create(a[1], "s".getBytes(), acl, CreateMode.PERSISTENT);
        check(new String(zk.getData(a[1], false, null)).equals("s"), "read own sasl node");
        org.apache.zookeeper.client.ZKClientConfig noSasl = new org.apache.zookeeper.client.ZKClientConfig();
        noSasl.setProperty(org.apache.zookeeper.client.ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        ZooKeeper other = new ZooKeeper(a[0], 10000, e -> {}, noSasl);
        try { other.getData(a[1], false, null); check(false, "x"); } catch (KeeperException.NoAuthException e) { check(true, "noauth without sasl"); }
        other.close();
        zk.delete(a[1], -1);
        zk.close();
        System.out.println("ALL OK");
    }
}
