//! The process's CPU time, and the statistics taken over rounds and trials.

use std::time::Duration;

use rustix::time::{ClockId, clock_gettime};

/// The CPU time this process has used so far, user and system, all threads: the sum
/// `getrusage(RUSAGE_SELF)` reports, read from `CLOCK_PROCESS_CPUTIME_ID` at nanosecond
/// resolution (`/proc/self/stat` counts 10 ms ticks). The servers are other processes and
/// are not counted.
pub fn process_cpu() -> Duration {
    let now = clock_gettime(ClockId::ProcessCPUTime);
    let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
    let nanos = u32::try_from(now.tv_nsec).unwrap_or(0);
    Duration::new(seconds, nanos)
}

/// The value at fraction `quantile` (0.5 for the median, 0.99 for p99) of `values`, by
/// nearest rank; NaN when there are none.
pub fn quantile(values: &[f64], quantile: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of `values`.
pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// How widely `values` spread: the interquartile range over the median, so a reader can
/// tell a ratio of 0.97 from noise.
pub fn spread(values: &[f64]) -> f64 {
    (quantile(values, 0.75) - quantile(values, 0.25)) / median(values)
}

/// `duration` in milliseconds.
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(median(&values), 50.0);
        assert_eq!(quantile(&values, 0.99), 99.0);
        assert_eq!(quantile(&values, 1.0), 100.0);
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), 2.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn cpu_time_advances_with_work() {
        let before = process_cpu();
        let mut sum = 0u64;
        for i in 0..5_000_000u64 {
            sum = sum.wrapping_add(i * i);
        }
        assert!(std::hint::black_box(sum) > 0);
        assert!(process_cpu() > before);
    }
}
