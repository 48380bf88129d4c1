//! The zk-client integration suite, written once against [`TestServer`] and run per server:
//! Apache ZooKeeper 3.8 now, zk-server once it lands (see the TODO at the bottom).

mod client_cases;

use tests::client_support::ApacheServer;

/// Generates one `#[tokio::test]` per case for server type `$server`.
macro_rules! suite {
    ($name:ident, $server:ty) => {
        mod $name {
            use super::*;
            suite!(@cases $server;
                crud_and_stat,
                every_create_mode,
                pipelined_requests_keep_call_order,
            );
        }
    };
    (@cases $server:ty; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                client_cases::$case::<$server>().await
            }
        )*
    };
}

suite!(apache, ApacheServer);

// TODO(lead): run the same suite against zk-server: implement `TestServer` for it in
// tests/client_support.rs (see the TODO there), then uncomment:
// suite!(zk_server, ZkServer);
