//! Golden records: every election and quorum record that real Apache ZooKeeper 3.8.0 servers
//! exchanged (3 participants and an observer, nine scenarios: cold start, clients, DIFF, SNAP,
//! leader loss, TRUNC, observer, session move, session expiry) decodes with zk-core's quorum
//! types into the fields the capture's decoder wrote beside it, and re-encodes byte for byte.
//!
//! The files are copies of `shared/quorum/apache-3.8-quorum-*.txt`; the line format is
//! `KIND SRC>DST NAME key=value... HEX  # decoded fields`. On top of the record checks, each
//! SNAP's parts are decoded as one stream and re-encoded, and each connection direction's bytes
//! are read back through the streaming decoders in random chunks. The counts at the end make a
//! parser that silently skips lines fail.

#[path = "golden_quorum/checks.rs"]
mod checks;
#[path = "golden_quorum/lines.rs"]
mod lines;
#[path = "golden_quorum/streams.rs"]
mod streams;

use std::collections::{BTreeMap, HashMap};

use checks::{check_init, check_notif, check_packet, Tally};
use lines::{parse_file, Record, Rng};
use streams::{check_election_direction, check_quorum_direction, check_snap};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/quorum");

fn check_file(name: &str, text: &str, t: &mut Tally, rng: &mut Rng) -> usize {
    let records = parse_file(name, text);
    let mut proposals = HashMap::new();
    for r in &records {
        t.line(r);
        match (r.kind, r.name.as_str()) {
            ('E', "init") => check_init(r),
            ('E', "notif") => {
                check_notif(r);
            }
            ('E', other) => panic!("{}: unknown election record {other}", r.at),
            ('Q', n) if n.starts_with("SNAP.") => {}
            ('Q', _) => check_packet(r, t, &mut proposals),
            // Client frames are only counted: golden_wire.rs covers the client protocol.
            _ => {}
        }
    }

    // Each connection direction in order.
    let mut directions: BTreeMap<(usize, String, String), Vec<&Record>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.kind != 'C') {
        directions
            .entry((r.conn, r.src.clone(), r.dst.clone()))
            .or_default()
            .push(r);
    }
    for recs in directions.values() {
        if recs[0].kind == 'E' {
            check_election_direction(recs, rng, t);
            continue;
        }
        check_quorum_direction(recs, rng, t);
        // The SNAP parts between a SNAP packet and the next packet.
        let mut i = 0;
        while i < recs.len() {
            if recs[i].name == "SNAP" {
                let start = i + 1;
                let mut end = start;
                while end < recs.len() && recs[end].name.starts_with("SNAP.") {
                    end += 1;
                }
                check_snap(&recs[start..end], rng, t);
                i = end;
            } else {
                assert!(!recs[i].name.starts_with("SNAP."), "{}: stray", recs[i].at);
                i += 1;
            }
        }
    }
    records.len()
}

#[test]
fn apache_3_8_quorum_captures() {
    let mut names: Vec<String> = std::fs::read_dir(DIR)
        .expect("golden dir")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("apache-3.8-quorum-") && n.ends_with(".txt"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 9, "{names:?}");
    let mut t = Tally::default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut total = 0;
    for name in &names {
        let text = std::fs::read_to_string(format!("{DIR}/{name}")).unwrap();
        total += check_file(name, &text, &mut t, &mut rng);
    }

    // Every record line of the capture (its README: 1175), by kind and name.
    assert_eq!(total, 1175);
    let want: BTreeMap<String, usize> = [
        ("E init", 22),
        ("E notif", 63),
        ("Q ACK", 220),
        ("Q ACKEPOCH", 9),
        ("Q COMMIT", 202),
        ("Q DIFF", 6),
        ("Q FOLLOWERINFO", 8),
        ("Q INFORM", 17),
        ("Q LEADERINFO", 9),
        ("Q NEWLEADER", 9),
        ("Q OBSERVERINFO", 1),
        ("Q PING", 102),
        ("Q PROPOSAL", 202),
        ("Q REQUEST", 35),
        ("Q REVALIDATE", 4),
        ("Q SNAP", 2),
        ("Q SNAP.acl", 6),
        ("Q SNAP.aclmap", 2),
        ("Q SNAP.end", 2),
        ("Q SNAP.node", 130),
        ("Q SNAP.sessions", 2),
        ("Q SNAP.signature", 2),
        ("Q SYNC", 2),
        ("Q TRUNC", 1),
        ("Q UPTODATE", 9),
        ("C connect", 11),
        ("C connected", 11),
        ("C ping", 2),
        ("C rep", 41),
        ("C req", 43),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(t.lines, want);

    // What the payload checks covered.
    assert_eq!(
        t.entries,
        202 + 17,
        "every PROPOSAL and INFORM is a txn entry"
    );
    assert_eq!(t.informs_matched, 17, "INFORM carries the PROPOSAL's bytes");
    assert_eq!(
        t.error_txns, 5,
        "BADVERSION and SESSIONMOVED, proposed and informed, without digest"
    );
    assert_eq!(
        t.txn_types.iter().copied().collect::<Vec<_>>(),
        [-11, -10, -1, 1, 2, 5, 7, 14, 15, 19, 21]
    );
    assert_eq!(
        t.multi_op_types.iter().copied().collect::<Vec<_>>(),
        [-1, 1, 2, 5, 13]
    );
    assert_eq!(
        t.request_records,
        35 - 5 - 4,
        "all but createSession and closeSession"
    );
    assert_eq!(t.touch_replies, 17);
    assert_eq!(t.snaps, 2);
    assert_eq!(
        t.snap_items,
        (1 + 3 + 63 + 1) + (1 + 3 + 67 + 1),
        "sessions, ACLs, nodes, end"
    );
    assert_eq!(
        t.quorum_streams, 48,
        "every direction of every quorum connection"
    );
    assert_eq!(t.quorum_stream_items, 838 + t.snap_items);
    assert_eq!(t.election_streams, 39);
    assert_eq!(t.election_stream_items, 22 + 63);
}
