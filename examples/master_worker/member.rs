//! Killing the zk-server member under the application's client, and following what happens:
//! every session on it moves to another member (keeping its id), then the member is started
//! again and syncs with the leader.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use zk_core::SessionId;

use super::client::Submitter;
use super::master::Master;
use super::stats::MemberFailover;
use super::worker::Worker;
use super::{Progress, Stats};
use crate::embedded::Ensemble;

/// One session of the application: where it is connected and which session it is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    /// `client`, `master-N` or `worker-N`.
    who: String,
    server: Option<SocketAddr>,
    session: SessionId,
    /// False once its process was killed by the run.
    alive: bool,
}

fn sessions(submitter: &Submitter, masters: &[Master], workers: &[Worker]) -> Vec<Seen> {
    let mut seen = vec![Seen {
        who: "client".to_owned(),
        server: submitter.server(),
        session: submitter.session_id(),
        alive: true,
    }];
    for (who, p) in masters
        .iter()
        .map(|m| (m.id(), m.process()))
        .chain(workers.iter().map(|w| (w.id(), w.process())))
    {
        seen.push(Seen {
            who: who.to_owned(),
            server: p.server(),
            session: p.session_id(),
            alive: p.is_alive(),
        });
    }
    seen
}

/// The member kill of one run, from the kill to the member's rejoin.
#[derive(Debug)]
pub(crate) struct MemberKill {
    id: i64,
    addr: SocketAddr,
    role: String,
    killed_at: Instant,
    /// The sessions connected to it at the kill.
    on_it: Vec<Seen>,
    failover: Option<Duration>,
    sessions_kept: bool,
    restarted_at: Option<Instant>,
    rejoined: Option<Duration>,
    role_after: String,
}

impl MemberKill {
    /// Kills the member the application's client is connected to. `None` (try again later)
    /// while the client is between members.
    pub(crate) async fn start(
        ensemble: &mut Ensemble,
        submitter: &Submitter,
        masters: &[Master],
        workers: &[Worker],
        stats: &Stats,
        progress: &Progress,
    ) -> anyhow::Result<Option<MemberKill>> {
        let Some(addr) = submitter.server() else {
            return Ok(None);
        };
        let Some(id) = ensemble.member_at(addr) else {
            anyhow::bail!("the client is connected to {addr}, which is no embedded member");
        };
        let role = ensemble.role(id).to_owned();
        let on_it: Vec<Seen> = sessions(submitter, masters, workers)
            .into_iter()
            .filter(|s| s.alive && s.server == Some(addr))
            .collect();
        ensemble.kill_member(id).await?;
        let names: Vec<&str> = on_it.iter().map(|s| s.who.as_str()).collect();
        stats.event(
            progress,
            format!(
                "killed zk-server member {id} ({role}), which served {}",
                names.join(", ")
            ),
        );
        Ok(Some(MemberKill {
            id,
            addr,
            role,
            killed_at: Instant::now(),
            on_it,
            failover: None,
            sessions_kept: false,
            restarted_at: None,
            rejoined: None,
            role_after: String::new(),
        }))
    }

    /// True once every session moved and the member serves again.
    pub(crate) fn done(&self) -> bool {
        self.rejoined.is_some()
    }

    /// Looks again: records the failover once every session that was on the member (and
    /// whose process still runs) is connected to another member, then restarts the member,
    /// and records its rejoin once it serves.
    pub(crate) async fn step(
        &mut self,
        ensemble: &mut Ensemble,
        submitter: &Submitter,
        masters: &[Master],
        workers: &[Worker],
        stats: &Stats,
        progress: &Progress,
    ) -> anyhow::Result<()> {
        if self.failover.is_none() {
            let now = sessions(submitter, masters, workers);
            let mut moved = true;
            let mut kept = true;
            for before in &self.on_it {
                let Some(after) = now.iter().find(|s| s.who == before.who) else {
                    continue;
                };
                if !after.alive {
                    // Killed by the run meanwhile: it moves nowhere.
                    continue;
                }
                moved &= after.server.is_some_and(|a| a != self.addr);
                kept &= after.session == before.session;
            }
            if !moved {
                return Ok(());
            }
            let t = self.killed_at.elapsed();
            self.failover = Some(t);
            self.sessions_kept = kept;
            stats.event(
                progress,
                format!(
                    "every session of member {} moved to another member {:.2} s after the kill{}",
                    self.id,
                    t.as_secs_f64(),
                    if kept { ", with its id" } else { "" }
                ),
            );
            ensemble.restart_member(self.id).await?;
            self.restarted_at = Some(Instant::now());
            return Ok(());
        }
        if let (Some(restarted), None) = (self.restarted_at, self.rejoined) {
            if ensemble.is_serving(self.id) {
                let t = restarted.elapsed();
                self.rejoined = Some(t);
                self.role_after = ensemble.role(self.id).to_owned();
                stats.event(
                    progress,
                    format!(
                        "zk-server member {} restarted and serves again as {}, {:.2} s later",
                        self.id,
                        self.role_after,
                        t.as_secs_f64()
                    ),
                );
            }
        }
        Ok(())
    }

    /// What the summary reports.
    pub(crate) fn report(&self) -> MemberFailover {
        MemberFailover {
            id: self.id,
            role: self.role.clone(),
            sessions: self.on_it.len(),
            failover: self.failover,
            sessions_kept: self.sessions_kept,
            rejoined: self.rejoined,
            role_after: self.role_after.clone(),
        }
    }
}
