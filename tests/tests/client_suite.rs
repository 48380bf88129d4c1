//! The zk-client integration suite, written once against [`TestServer`] and run per server:
//! Apache ZooKeeper 3.8 and zk-server (durable, in process).

mod client_cases;

use tests::client_support::{ApacheServer, ZkServer};

/// Generates one `#[tokio::test]` per case for server type `$server`.
macro_rules! suite {
    ($name:ident, $server:ty) => {
        mod $name {
            use super::*;
            suite!(@cases $server;
                crud_and_stat,
                null_data_is_not_empty_data,
                every_create_mode,
                pipelined_requests_keep_call_order,
                one_shot_watches_fire_once,
                dropping_the_last_watch_removes_it,
                remove_watches_tells_the_watchers,
                persistent_watches_stream_events,
                many_watches_rearm_in_batches,
                dropping_a_persistent_watch_beside_a_standard_one,
                chroot_applies_everywhere,
                acls_and_digest_auth,
                refused_credentials_end_the_client,
                multi_commits_all_or_nothing,
                multi_read_answers_each_read,
                server_restart_rearms_every_watch,
                changes_while_disconnected_still_fire,
                connection_loss_mid_request,
                client_side_expiry_is_reported_once,
                server_reported_expiry,
                many_tasks_share_one_client,
                failover_between_hosts_keeps_the_session,
                request_timeout_fails_only_the_late_request,
                credentials_are_replayed_after_a_reconnect,
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

suite!(zk_server, ZkServer);
