//! A deterministic simulator of a zk-server ensemble: real [`zk_server::quorum::Peer`]s over
//! model disks and a model network, driven by one seed. See `world.rs`.

pub mod admin;
pub mod client;
pub mod config_check;
pub mod disk;
pub mod rng;
pub mod world;

use zk_core::txn::TxnBody;
use zk_history::Change;

fn data(d: &Option<bytes::Bytes>) -> Vec<u8> {
    d.as_ref().map(|b| b.to_vec()).unwrap_or_default()
}

/// A transaction as the history checker sees it.
pub fn change_of(t: &TxnBody) -> Change {
    match t {
        TxnBody::Create(c) => Change::Create {
            path: c.path.clone(),
            data: data(&c.data),
        },
        TxnBody::CreateTtl(c) => Change::Create {
            path: c.path.clone(),
            data: data(&c.data),
        },
        TxnBody::CreateContainer(c) => Change::Create {
            path: c.path.clone(),
            data: data(&c.data),
        },
        TxnBody::Delete(d) => Change::Delete {
            path: d.path.clone(),
        },
        TxnBody::SetData(s) => Change::SetData {
            path: s.path.clone(),
            data: data(&s.data),
            version: s.version,
        },
        TxnBody::Error(e) => Change::Error {
            code: zk_core::ErrorCode::from_i32(e.err),
        },
        TxnBody::Multi(subs) => Change::Multi(subs.iter().map(|(_, t)| change_of(t)).collect()),
        TxnBody::CloseSession(c) if !c.paths_to_delete.is_empty() => Change::Multi(
            c.paths_to_delete
                .iter()
                .map(|p| Change::Delete { path: p.clone() })
                .collect(),
        ),
        _ => Change::Other,
    }
}
