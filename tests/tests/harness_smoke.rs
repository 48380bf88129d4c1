//! The harness itself: Apache ZooKeeper starts on a free port and answers four-letter words.

use tests::{four_letter_word, ApacheZk};

#[test]
fn apache_zookeeper_starts_and_answers_srvr() {
    let zk = ApacheZk::start(&[]).expect("start Apache ZooKeeper");
    let srvr = four_letter_word(zk.addr(), "srvr").unwrap();
    assert!(srvr.starts_with("Zookeeper version: 3.8"), "{srvr}");
    assert!(srvr.contains("Mode: standalone"), "{srvr}");
}
