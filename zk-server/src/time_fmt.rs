//! Times as Apache ZooKeeper's tools print them, from milliseconds since the epoch, in UTC:
//! Java's `Date.toString()` (zkCli.sh stats, the `dump` four-letter word) and the timestamp
//! of the log and snapshot dumps.

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]; // 1970-01-01 was a Thursday
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The UTC calendar fields of a time: days since the epoch, (year, month 1..=12, day 1..=31),
/// and the second of the day.
fn fields(ms: i64) -> (i64, (i64, i64, i64), i64) {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    (days, civil_from_days(days), secs.rem_euclid(86_400))
}

/// Howard Hinnant's days-to-civil algorithm: (year, month 1..=12, day 1..=31).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Java's `Date.toString()` in UTC: `Sun Nov 22 03:06:13 UTC 2026`.
pub fn java_date(ms: i64) -> String {
    let (days, (y, m, d), sod) = fields(ms);
    format!(
        "{} {} {d:02} {:02}:{:02}:{:02} UTC {y}",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// `YYYY-MM-DD HH:MM:SS.mmm UTC`, as the log and snapshot dumps print times.
pub fn timestamp(ms: i64) -> String {
    let (_, (y, m, d), sod) = fields(ms);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03} UTC",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_dates() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(1_795_316_773_000), "Sun Nov 22 03:06:13 UTC 2026");
        assert_eq!(java_date(1_795_316_906_000), "Sun Nov 22 03:08:26 UTC 2026");
        assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(timestamp(1_700_000_000_123), "2023-11-14 22:13:20.123 UTC");
        assert_eq!(timestamp(-1), "1969-12-31 23:59:59.999 UTC");
    }
}
