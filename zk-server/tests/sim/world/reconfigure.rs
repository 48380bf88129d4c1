//! The reconfiguring administrator's part of the world: it connects to a random member,
//! authenticates as the super user and, now and then until the clients go quiet, asks for a
//! reconfig the world chooses from what it knows (the newest config any member activated,
//! who leads): a voter removed, the leader removed, a removed member added back with its
//! line from the initial config, a new member list, now and then one that must be refused
//! (fewer than two voters left, a stale `fromConfig`). All its choices come from its own
//! stream.

use zk_core::proto::ReconfigRequest;
use zk_core::ErrorCode;
use zk_server::core::ConnId;
use zk_server::quorum::{QuorumVerifier, ServerState};

use super::{Ev, World, ADMIN};

impl World {
    /// The newest config any member activated.
    fn newest_config(&self) -> QuorumVerifier {
        self.nodes
            .iter()
            .map(|n| &n.config)
            .max_by_key(|c| c.version())
            .cloned()
            .unwrap_or_else(|| self.verifier.clone())
    }

    fn serving_leader(&self) -> Option<i64> {
        self.nodes.iter().find_map(|n| {
            n.peer
                .as_ref()
                .filter(|p| p.state() == ServerState::Leading && p.serving())
                .map(|p| p.my_id())
        })
    }

    /// The administrator's turn: connect, authenticate, ping, or send the next reconfig.
    pub(super) fn admin_step(&mut self) {
        let now = self.now;
        let Some(a) = self.admin.as_mut() else { return };
        let Some((conn, node)) = a.conn else {
            let node = self.admin_rng.below(self.nodes.len());
            let conn = ConnId(self.next_conn);
            self.next_conn += 1;
            a.conn = Some((conn, node));
            let req = a.connect_request();
            self.open_connection(ADMIN, node, conn, req);
            return;
        };
        let msg = match a.housekeeping(now) {
            Some(m) => m,
            None if a.ready() && now >= self.next_reconfig && now < self.cfg.quiet_at - 3000 => {
                self.next_reconfig = now + self.admin_rng.range(300, 3000);
                let (req, what) = self.choose_reconfig();
                tracing::info!(what, ?req, "RECONFIG sent to node {}", node + 1);
                self.stat("reconfig_sent");
                let a = self.admin.as_mut().expect("the admin");
                a.reconfig(now, req, what)
            }
            None => return,
        };
        let inc = self.nodes[node].inc;
        let t = self.fifo_time(5, 0, node, conn.0);
        self.at(
            t,
            Ev::ToServer {
                node,
                inc,
                conn,
                msg,
            },
        );
    }

    /// A frame for the administrator.
    pub(super) fn admin_frame(&mut self, conn: ConnId, frame: &[u8]) {
        let Some(a) = self.admin.as_mut() else { return };
        if a.conn.map(|(c, _)| c) != Some(conn) {
            return;
        }
        if !a.connected {
            if !a.handshake(frame) {
                self.stat("admin_expired");
                self.drop_client_conn(ADMIN);
            }
            return;
        }
        let Some(i) = a.reply(frame) else { return };
        let at = &a.attempts[i];
        tracing::info!(
            what = at.what,
            sent = at.sent,
            req = ?at.req,
            answer = ?at.answer,
            "RECONFIG answered"
        );
        let invalid = at.what.starts_with("invalid");
        let ok = matches!(at.answer, Some(Ok(_)));
        let what = at.what.clone();
        self.stat(if ok {
            "reconfig_ok"
        } else {
            "reconfig_refused"
        });
        if invalid && ok {
            self.failures.push(format!(
                "t={} the reconfig \"{what}\" (fewer than 2 voters left) succeeded",
                self.now
            ));
        }
        if let Some(Err(e)) = &self.admin.as_ref().expect("the admin").attempts[i].answer {
            if matches!(
                e,
                ErrorCode::Unimplemented | ErrorCode::ReconfigDisabled | ErrorCode::NoAuth
            ) {
                self.failures.push(format!(
                    "t={} the super user's reconfig \"{what}\" was answered {e:?}",
                    self.now
                ));
            }
        }
    }

    /// The next reconfig, from what the world knows.
    fn choose_reconfig(&mut self) -> (ReconfigRequest, String) {
        let newest = self.newest_config();
        let voters: Vec<i64> = newest.voters().into_iter().collect();
        let members: Vec<i64> = newest.members().iter().map(|m| m.sid).collect();
        let removed: Vec<i64> = self
            .lines
            .keys()
            .copied()
            .filter(|s| !members.contains(s))
            .collect();
        let leader = self.serving_leader().filter(|l| voters.contains(l));
        let r = &mut self.admin_rng;
        let mut req = ReconfigRequest {
            joining_servers: None,
            leaving_servers: None,
            new_members: None,
            cur_config_id: -1,
        };
        let mut kind = r.below(20);
        if (10..15).contains(&kind) && removed.is_empty() {
            kind = 0;
        }
        if kind < 10 && voters.len() <= 2 {
            kind = if removed.is_empty() { 15 } else { 10 };
        }
        let what = match kind {
            0..=5 | 19 => {
                let sid = voters[r.below(voters.len())];
                req.leaving_servers = Some(sid.to_string());
                if kind == 19 {
                    // A stale `fromConfig` (BadVersion), or the one the admin knows.
                    req.cur_config_id = newest.version() - i64::from(r.chance(0.5));
                }
                format!("remove {sid}")
            }
            6..=9 => match leader {
                Some(l) => {
                    req.leaving_servers = Some(l.to_string());
                    format!("remove {l} (the leader)")
                }
                None => {
                    let sid = voters[r.below(voters.len())];
                    req.leaving_servers = Some(sid.to_string());
                    format!("remove {sid}")
                }
            },
            10..=14 => {
                let sid = removed[r.below(removed.len())];
                req.joining_servers = Some(self.lines[&sid].clone());
                format!("add {sid}")
            }
            15..=17 => {
                // A new member list: every initial member with some chance, at least 2
                // initial voters.
                let initial_voters: Vec<i64> = self.verifier.voters().into_iter().collect();
                let mut pick: Vec<i64> = self
                    .lines
                    .keys()
                    .copied()
                    .filter(|_| r.chance(0.7))
                    .collect();
                while pick.iter().filter(|s| initial_voters.contains(s)).count() < 2 {
                    let s = initial_voters[r.below(initial_voters.len())];
                    if !pick.contains(&s) {
                        pick.push(s);
                    }
                }
                pick.sort();
                let list: Vec<&str> = pick.iter().map(|s| self.lines[s].as_str()).collect();
                req.new_members = Some(list.join(","));
                format!("members {pick:?}")
            }
            _ => {
                // All voters but one leave: refused (BadArguments).
                let keep = voters[r.below(voters.len())];
                let leaving: Vec<String> = voters
                    .iter()
                    .filter(|s| **s != keep)
                    .map(i64::to_string)
                    .collect();
                req.leaving_servers = Some(leaving.join(","));
                format!("invalid: only {keep} left")
            }
        };
        (req, what)
    }
}
