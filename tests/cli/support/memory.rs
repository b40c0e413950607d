//! Memory figures of running processes, read from `/proc`.

/// A memory figure of a running process from `/proc/<pid>/status`, in KiB: `VmRSS` (resident
/// now) or `VmHWM` (peak resident).
pub fn proc_memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}
