//! Hand-built histories: one valid run, and for each check a small change that it must catch.

use zk_core::{ErrorCode, SessionId, Zxid};

use crate::committed::{Change, CommittedHistory, Txn};
use crate::op::{ClientId, History, Op, OpId, Operation, Outcome, Reply};
use crate::report::Report;
use crate::violation::{Origin, Violation};

use super::{check, Options};

fn op(client: u32, (invoked, completed): (u64, u64), operation: Operation, outcome: Outcome) -> Op {
    Op {
        client: ClientId(client),
        session_id: Some(SessionId(client.into())),
        invoked,
        completed: Some(completed),
        operation,
        outcome,
    }
}

fn read(p: &str) -> Operation {
    Operation::Read { path: p.into() }
}

fn set(p: &str, d: &str, version: Option<i32>) -> Operation {
    Operation::Set {
        path: p.into(),
        data: d.into(),
        version,
    }
}

fn create(p: &str, d: &str) -> Operation {
    Operation::Create {
        path: p.into(),
        data: d.into(),
    }
}

fn delete(p: &str) -> Operation {
    Operation::Delete {
        path: p.into(),
        version: None,
    }
}

fn got(zxid: i64, d: &str, version: i32) -> Outcome {
    Outcome::Ok {
        zxid: Zxid(zxid),
        reply: Reply::Read {
            data: d.into(),
            version,
        },
    }
}

fn ok(zxid: i64, reply: Reply) -> Outcome {
    Outcome::Ok {
        zxid: Zxid(zxid),
        reply,
    }
}

fn err(zxid: i64, code: ErrorCode) -> Outcome {
    Outcome::Error {
        zxid: Zxid(zxid),
        code,
    }
}

fn txn(zxid: i64, session: i64, change: Change) -> Txn {
    Txn {
        zxid: Zxid(zxid),
        session_id: Some(SessionId(session)),
        change,
    }
}

fn t_set(zxid: i64, session: i64, p: &str, d: &str, version: i32) -> Txn {
    let change = Change::SetData {
        path: p.into(),
        data: d.into(),
        version,
    };
    txn(zxid, session, change)
}

/// Two sessions on a key /k and a node /j; session 2 reads /k from a lagging member.
fn valid() -> (History, CommittedHistory) {
    let ops = vec![
        op(1, (10, 11), create("/k", "a"), ok(3, Reply::Created)),
        op(
            1,
            (12, 13),
            set("/k", "b", None),
            ok(4, Reply::Set { version: 1 }),
        ),
        // Invoked after the set completed, answered before it by a lagging member: legal.
        op(2, (14, 20), read("/k"), got(3, "a", 0)),
        op(
            2,
            (21, 22),
            set("/k", "d", Some(0)),
            err(5, ErrorCode::BadVersion),
        ),
        op(
            2,
            (23, 24),
            set("/k", "c", Some(1)),
            ok(6, Reply::Set { version: 2 }),
        ),
        op(1, (25, 26), read("/k"), got(6, "c", 2)),
        op(1, (27, 28), create("/j", "x"), ok(7, Reply::Created)),
        op(1, (29, 30), delete("/j"), ok(8, Reply::Deleted)),
        op(2, (31, 32), read("/j"), err(8, ErrorCode::NoNode)),
        op(2, (33, 34), read("/k"), got(8, "c", 2)),
    ];
    let txns = vec![
        txn(1, 1, Change::Other),
        txn(2, 2, Change::Other),
        txn(
            3,
            1,
            Change::Create {
                path: "/k".into(),
                data: "a".into(),
            },
        ),
        t_set(4, 1, "/k", "b", 1),
        txn(
            5,
            2,
            Change::Error {
                code: ErrorCode::BadVersion,
            },
        ),
        t_set(6, 2, "/k", "c", 2),
        txn(
            7,
            1,
            Change::Create {
                path: "/j".into(),
                data: "x".into(),
            },
        ),
        txn(8, 1, Change::Delete { path: "/j".into() }),
    ];
    (History::from(ops), CommittedHistory::from_start(txns))
}

fn passes(h: &History, c: &CommittedHistory) -> Report {
    check(h, c, &Options::default()).unwrap_or_else(|v| panic!("{v}"))
}

fn violations(h: &History, c: &CommittedHistory) -> Vec<Violation> {
    match check(h, c, &Options::default()) {
        Ok(r) => panic!("no violation found: {r}"),
        Err(v) => {
            // Every failure must print in full.
            assert!(v.to_string().contains("violations"));
            v.violations
        }
    }
}

fn outcome(h: &mut History, i: usize) -> &mut Outcome {
    &mut h.ops_mut()[i].outcome
}

#[test]
fn a_valid_history_passes_with_every_op_checked() {
    let (h, c) = valid();
    let r = passes(&h, &c);
    assert_eq!((r.reads_checked, r.writes_checked), (4, 6), "{r}");
    assert_eq!(r.skipped_before_start + r.skipped_unknown_state, 0);
}

#[test]
fn a_lost_acknowledged_write_is_caught() {
    let (h, mut c) = valid();
    c.txns_mut()[3].change = Change::Other; // the set of "b" at 4
    let v = violations(&h, &c);
    assert!(
        v.iter().any(|v| matches!(v,
            Violation::LostWrite { op, found_at: None } if op.id == OpId(1))),
        "{v:?}"
    );
}

#[test]
fn a_lost_delete_and_a_lost_error_txn_are_caught() {
    let (h, mut c) = valid();
    c.txns_mut()[7].change = Change::Other; // the delete at 8
    c.txns_mut()[4].change = Change::Other; // the BadVersion at 5
    let v = violations(&h, &c);
    for id in [3, 7] {
        assert!(
            v.iter().any(|v| matches!(v,
                Violation::WrongTxn { op, .. } if op.id == OpId(id))),
            "{v:?}"
        );
    }
}

#[test]
fn a_stale_read_is_caught() {
    let (mut h, c) = valid();
    *outcome(&mut h, 5) = got(6, "b", 1); // at 6 /k is "c"
    let v = violations(&h, &c);
    assert_eq!(
        v,
        [Violation::WrongRead {
            op: crate::violation::OpRef {
                id: OpId(5),
                op: h.ops()[5].clone()
            },
            expected: Ok(Reply::Read {
                data: "c".into(),
                version: 2
            }),
            origin: Some(Origin::Committed(Zxid(4))),
        }]
    );
    assert!(v[0].to_string().contains("stale read"), "{}", v[0]);
}

#[test]
fn a_read_of_a_value_never_committed_is_caught() {
    let (mut h, c) = valid();
    *outcome(&mut h, 9) = got(8, "zzz", 2);
    let v = violations(&h, &c);
    assert!(
        matches!(&v[..], [Violation::WrongRead { op, origin: Some(Origin::Unwritten), .. }] if op.id == OpId(9)),
        "{v:?}"
    );
}

#[test]
fn a_read_of_nonode_where_the_node_exists_is_caught() {
    let (mut h, c) = valid();
    *outcome(&mut h, 9) = err(8, ErrorCode::NoNode);
    let v = violations(&h, &c);
    assert!(
        matches!(
            &v[..],
            [Violation::WrongRead {
                origin: None,
                expected: Ok(_),
                ..
            }]
        ),
        "{v:?}"
    );
}

#[test]
fn a_real_time_order_violation_is_caught() {
    let h = History::from(vec![
        op(1, (1, 2), create("/k", "a"), ok(1, Reply::Created)),
        op(
            1,
            (3, 4),
            set("/k", "b", None),
            ok(3, Reply::Set { version: 2 }),
        ),
        // Invoked after the set of "b" completed, yet ordered before it.
        op(
            2,
            (5, 6),
            set("/k", "c", None),
            ok(2, Reply::Set { version: 1 }),
        ),
    ]);
    let c = CommittedHistory::from_start(vec![
        txn(
            1,
            1,
            Change::Create {
                path: "/k".into(),
                data: "a".into(),
            },
        ),
        t_set(2, 2, "/k", "c", 1),
        t_set(3, 1, "/k", "b", 2),
    ]);
    let v = violations(&h, &c);
    assert!(
        matches!(&v[..], [Violation::RealTimeOrder { earlier, later }]
            if earlier.id == OpId(1) && later.id == OpId(2)),
        "{v:?}"
    );
}

#[test]
fn a_stale_read_breaks_linearizable_reads_only() {
    let (h, c) = valid();
    let strict = Options::default().with_linearizable_reads(true);
    let v = check(&h, &c, &strict).unwrap_err().violations;
    assert!(
        matches!(&v[..], [Violation::RealTimeOrder { earlier, later }]
            if earlier.id == OpId(1) && later.id == OpId(2)),
        "{v:?}"
    );
}

#[test]
fn a_per_session_zxid_regression_is_caught() {
    let (mut h, c) = valid();
    // The same data, from an older state than the session's previous read saw.
    *outcome(&mut h, 9) = got(6, "c", 2);
    let v = violations(&h, &c);
    assert!(
        matches!(&v[..], [Violation::SessionOrder { earlier, later }]
            if earlier.id == OpId(8) && later.id == OpId(9)),
        "{v:?}"
    );
}

#[test]
fn a_read_before_the_sessions_own_write_is_caught() {
    let (mut h, c) = valid();
    // Session 1 read /k at 3 after its own set at 4 ("a" is the state at 3).
    *outcome(&mut h, 5) = got(3, "a", 0);
    let v = violations(&h, &c);
    assert!(
        v.iter()
            .any(|v| matches!(v, Violation::SessionOrder { earlier, later }
            if earlier.id == OpId(1) && later.id == OpId(5))),
        "{v:?}"
    );
}

#[test]
fn a_duplicated_zxid_is_caught() {
    let (mut h, c) = valid();
    *outcome(&mut h, 7) = ok(7, Reply::Deleted); // the create of /j's zxid
    let v = violations(&h, &c);
    assert!(
        v.iter()
            .any(|v| matches!(v, Violation::DuplicateZxid { first, second }
            if first.id == OpId(6) && second.id == OpId(7))),
        "{v:?}"
    );
}

#[test]
fn a_wrong_version_returned_is_caught() {
    let (mut h, c) = valid();
    *outcome(&mut h, 4) = ok(6, Reply::Set { version: 3 });
    let v = violations(&h, &c);
    assert_eq!(v.len(), 1, "{v:?}");
    let Violation::WrongResult { op, at, expected } = &v[0] else {
        panic!("{v:?}")
    };
    assert_eq!((op.id, *at), (OpId(4), Zxid(6)));
    assert_eq!(*expected, Ok(Reply::Set { version: 2 }));
}

#[test]
fn a_bad_version_where_the_version_matched_is_caught() {
    let (mut h, c) = valid();
    h.ops_mut()[3].operation = set("/k", "d", Some(1)); // /k is at version 1 before 5
    let v = violations(&h, &c);
    assert!(
        matches!(
            &v[..],
            [Violation::WrongResult {
                expected: Ok(Reply::Set { version: 2 }),
                ..
            }]
        ),
        "{v:?}"
    );
}

#[test]
fn a_txn_of_another_session_at_the_reply_zxid_is_caught() {
    let (h, mut c) = valid();
    c.txns_mut()[3].session_id = Some(SessionId(2));
    let v = violations(&h, &c);
    assert!(
        matches!(&v[..], [Violation::WrongTxn { op, .. }] if op.id == OpId(1)),
        "{v:?}"
    );
}

#[test]
fn a_write_applied_twice_or_despite_its_error_is_caught() {
    let (h, mut c) = valid();
    c.txns_mut().push(t_set(9, 2, "/k", "c", 3));
    c.txns_mut().push(t_set(10, 2, "/k", "d", 4));
    let v = violations(&h, &c);
    assert!(
        v.iter()
            .any(|v| matches!(v, Violation::AppliedTwice { op, zxids }
            if op.id == OpId(4) && *zxids == [Zxid(6), Zxid(9)])),
        "{v:?}"
    );
    assert!(
        v.iter()
            .any(|v| matches!(v, Violation::FailedWriteApplied { op, zxid }
            if op.id == OpId(3) && *zxid == Zxid(10))),
        "{v:?}"
    );
}

#[test]
fn an_acknowledged_write_committed_at_another_zxid_is_caught() {
    let (mut h, c) = valid();
    *outcome(&mut h, 1) = ok(5, Reply::Set { version: 1 });
    let v = violations(&h, &c);
    assert!(
        v.iter().any(
            |v| matches!(v, Violation::LostWrite { op, found_at: Some(z) }
            if op.id == OpId(1) && *z == Zxid(4))
        ),
        "{v:?}"
    );
}

#[test]
fn an_inconsistent_committed_history_is_caught() {
    let (h, mut c) = valid();
    c.txns_mut()[5] = t_set(6, 2, "/k", "c", 5);
    let v = violations(&h, &c);
    assert!(
        matches!(&v[0], Violation::CommittedInconsistent { txn, .. } if txn.zxid == Zxid(6)),
        "{v:?}"
    );
}

#[test]
fn a_gap_in_the_committed_zxids_is_caught() {
    let (h, mut c) = valid();
    c.txns_mut().remove(1); // session 2's createSession at 2
    let v = violations(&h, &c);
    assert_eq!(
        v,
        [Violation::CommittedGap {
            zxid: Zxid(3),
            previous: Zxid(1)
        }]
    );
    let loose = Options::default().with_contiguous_zxids(false);
    assert!(check(&h, &c, &loose).is_ok());
}

#[test]
fn a_read_beyond_the_committed_history_is_caught() {
    let (mut h, c) = valid();
    *outcome(&mut h, 9) = got(9, "c", 2);
    let v = violations(&h, &c);
    assert!(
        matches!(&v[..], [Violation::ReadBeyondHistory { op, last }]
            if op.id == OpId(9) && *last == Zxid(8)),
        "{v:?}"
    );
}

#[test]
fn a_read_at_a_new_epochs_start_sees_the_end_of_the_history() {
    // A new leader answers at `epoch << 32` before its first proposal.
    let (mut h, c) = valid();
    *outcome(&mut h, 9) = got(1 << 32, "c", 2);
    passes(&h, &c);
    *outcome(&mut h, 9) = got(1 << 32, "b", 1);
    let v = violations(&h, &c);
    assert!(matches!(&v[..], [Violation::WrongRead { .. }]), "{v:?}");
}

#[test]
fn reads_below_the_start_of_the_committed_history_are_skipped() {
    let (h, c) = valid();
    let later = CommittedHistory::after(Zxid(4), c.txns()[4..].to_vec());
    let r = passes(&h, &later);
    assert_eq!(r.skipped_before_start, 3, "{r}"); // the create, the set, the read at 3
                                                  // The two sets of /k before it is known, and the create of /j (was it there?).
    assert_eq!(r.skipped_unknown_state, 3, "{r}");
    assert_eq!(r.reads_checked, 3, "{r}");
    assert!(r.to_string().contains("skipped 3 at or below"), "{r}");
}

#[test]
fn unknown_outcome_writes_that_committed_are_checked_and_pass() {
    let (mut h, mut c) = valid();
    let mut lost = op(1, (35, 36), set("/k", "u", None), Outcome::Unknown);
    h.push(lost.clone());
    lost.completed = None;
    lost.operation = set("/k", "w", Some(3));
    h.push(lost);
    h.push(op(2, (40, 41), read("/k"), got(10, "w", 4)));
    c.txns_mut().push(t_set(9, 1, "/k", "u", 3));
    c.txns_mut().push(t_set(10, 1, "/k", "w", 4));
    let r = passes(&h, &c);
    assert_eq!((r.unknown_committed, r.unknown_unmatched), (2, 0), "{r}");
}

#[test]
fn unknown_outcome_writes_that_did_not_commit_pass_but_cannot_be_read() {
    let (mut h, c) = valid();
    h.push(op(1, (35, 36), set("/k", "u", None), Outcome::Unknown));
    h.push(op(1, (37, 38), delete("/k"), Outcome::Unknown));
    let r = passes(&h, &c);
    assert_eq!((r.unknown_committed, r.unknown_unmatched), (0, 2), "{r}");

    h.push(op(2, (40, 41), read("/k"), got(8, "u", 3)));
    let v = violations(&h, &c);
    assert!(
        matches!(
            &v[..],
            [Violation::WrongRead {
                origin: Some(Origin::Uncommitted(OpId(10))),
                ..
            }]
        ),
        "{v:?}"
    );
}

#[test]
fn a_read_of_an_unknown_write_below_its_commit_is_caught() {
    let (mut h, mut c) = valid();
    h.push(op(1, (35, 36), set("/k", "u", None), Outcome::Unknown));
    h.push(op(2, (40, 41), read("/k"), got(8, "u", 3)));
    c.txns_mut().push(t_set(9, 1, "/k", "u", 3));
    let v = violations(&h, &c);
    assert!(
        matches!(&v[..], [Violation::WrongRead { origin: Some(Origin::Committed(z)), .. }] if *z == Zxid(9)),
        "{v:?}"
    );
    assert!(v[0].to_string().contains("from the future"), "{}", v[0]);
}

#[test]
fn an_unknown_compare_and_set_committed_against_the_version_is_caught() {
    let (mut h, mut c) = valid();
    h.push(op(1, (35, 36), set("/k", "u", Some(0)), Outcome::Unknown));
    c.txns_mut().push(t_set(9, 1, "/k", "u", 3));
    let v = violations(&h, &c);
    assert!(
        matches!(&v[..], [Violation::WrongResult { at, expected: Err(ErrorCode::BadVersion), .. }] if *at == Zxid(9)),
        "{v:?}"
    );
}

#[test]
fn an_unknown_write_seen_before_its_invocation_is_caught() {
    let (mut h, mut c) = valid();
    h.push(op(1, (100, 101), set("/k", "u", None), Outcome::Unknown));
    c.txns_mut().push(t_set(9, 1, "/k", "u", 3));
    passes(&h, &c);
    // A read saw its value before the write was even invoked.
    h.push(op(2, (50, 51), read("/k"), got(9, "u", 3)));
    let v = violations(&h, &c);
    assert!(
        matches!(&v[..], [Violation::RealTimeOrder { earlier, later }]
            if earlier.id == OpId(11) && later.id == OpId(10)),
        "{v:?}"
    );
}

#[test]
fn two_writes_with_one_value_break_the_contract() {
    let (mut h, c) = valid();
    h.ops_mut()[6].operation = create("/j", "a");
    let v = violations(&h, &c);
    assert!(
        v.iter()
            .any(|v| matches!(v, Violation::DuplicateValue { first, second }
            if first.id == OpId(0) && second.id == OpId(6))),
        "{v:?}"
    );
}

#[test]
fn a_write_refused_without_a_txn_is_ordered_like_a_read() {
    let (mut h, c) = valid();
    h.push(op(
        2,
        (35, 36),
        set("/k", "r", None),
        err(8, ErrorCode::NotReadOnly),
    ));
    passes(&h, &c);
    *outcome(&mut h, 10) = err(7, ErrorCode::NotReadOnly);
    let v = violations(&h, &c);
    assert!(matches!(&v[..], [Violation::SessionOrder { .. }]), "{v:?}");
}

#[test]
fn multis_and_foreign_writes_are_replayed() {
    let (mut h, mut c) = valid();
    c.txns_mut().push(txn(
        9,
        7,
        Change::Multi(vec![
            Change::Create {
                path: "/m".into(),
                data: "m0".into(),
            },
            Change::SetData {
                path: "/k".into(),
                data: "m1".into(),
                version: 3,
            },
        ]),
    ));
    c.txns_mut().push(txn(
        10,
        7,
        Change::Multi(vec![
            Change::Error {
                code: ErrorCode::NoNode,
            },
            Change::Error {
                code: ErrorCode::RuntimeInconsistency,
            },
        ]),
    ));
    h.push(op(2, (40, 41), read("/k"), got(10, "m1", 3)));
    h.push(op(2, (42, 43), read("/m"), got(10, "m0", 0)));
    passes(&h, &c);
    *outcome(&mut h, 10) = got(10, "c", 2);
    let v = violations(&h, &c);
    assert!(
        matches!(&v[..], [Violation::WrongRead { origin: Some(Origin::Committed(z)), .. }] if *z == Zxid(6)),
        "{v:?}"
    );
}

#[test]
fn a_read_at_a_new_leaders_epoch_marker_saw_the_last_transaction_before_it() {
    // A new leader answers at epoch << 32 before its first transaction: the state of the last
    // transaction of the epoch before. A later read at that transaction is not stale; one
    // at an older transaction is.
    let marker = Zxid::new(2, 0).0;
    let last = Zxid::new(1, 2).0;
    let txns = vec![
        txn(
            Zxid::new(1, 1).0,
            1,
            Change::Create {
                path: "/k".into(),
                data: "a".into(),
            },
        ),
        t_set(last, 1, "/k", "b", 1),
    ];
    let c = CommittedHistory::from_start(txns);
    let history = |later_zxid: i64, data: &str, version: i32| {
        let ops = vec![
            op(
                1,
                (1, 2),
                create("/k", "a"),
                ok(Zxid::new(1, 1).0, Reply::Created),
            ),
            op(
                1,
                (3, 4),
                set("/k", "b", None),
                ok(last, Reply::Set { version: 1 }),
            ),
            op(2, (5, 6), read("/k"), got(marker, "b", 1)),
            op(3, (7, 8), read("/k"), got(later_zxid, data, version)),
        ];
        let mut h = History::new();
        for o in ops {
            h.push(o);
        }
        h
    };
    let strict = Options::default().with_linearizable_reads(true);
    check(&history(last, "b", 1), &c, &strict).expect("the same state");
    let v = check(&history(Zxid::new(1, 1).0, "a", 0), &c, &strict)
        .unwrap_err()
        .violations;
    assert!(
        v.iter()
            .any(|v| matches!(v, Violation::RealTimeOrder { later, .. } if later.id == OpId(3))),
        "{v:?}"
    );
}
