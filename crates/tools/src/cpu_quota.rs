use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use test_support::BoxError;

/// Lambda gives a function CPU in proportion to its memory: one full vCPU at 1 769 MB.
pub const MB_PER_VCPU: f64 = 1769.0;
/// The enforcement period. A short one spreads the share evenly, as a fair share does, instead of
/// letting a short job run at full speed and then stall for most of a long period. 20 ms is the
/// shortest for which a 128 MB share (7.2 %) is above the kernel's 1 ms minimum quota. Lambda does
/// not publish the period it uses.
const PERIOD_US: u64 = 20_000;

/// A cgroup whose CPU quota is a Lambda function's share of one CPU at a memory size, for the
/// processes started through [`CpuQuota::confine`]. Removed when dropped (after its processes end).
pub struct CpuQuota {
    dir: PathBuf,
    procs: CString,
    pub quota_us: u64,
    pub period_us: u64,
}

impl CpuQuota {
    /// `memory_mb / 1769` of one CPU, enforced by the kernel's CFS bandwidth control (cgroup v1 `cpu`
    /// or v2 `cpu.max`). Needs root.
    pub fn lambda_share(memory_mb: u32) -> Result<CpuQuota, BoxError> {
        let quota_us = ((PERIOD_US as f64) * f64::from(memory_mb) / MB_PER_VCPU).round() as u64;
        let name = format!("remote-exports-bench-{}", std::process::id());
        let v2 = PathBuf::from("/sys/fs/cgroup");
        let (dir, settings) = if v2.join("cgroup.controllers").exists() {
            // v2: the parent must hand the cpu controller down first.
            let _ = std::fs::write(v2.join("cgroup.subtree_control"), "+cpu");
            (v2.join(&name), vec![("cpu.max", format!("{quota_us} {PERIOD_US}"))])
        } else {
            let v1 = PathBuf::from("/sys/fs/cgroup/cpu").join(&name);
            (v1, vec![("cpu.cfs_period_us", PERIOD_US.to_string()), ("cpu.cfs_quota_us", quota_us.to_string())])
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create the cgroup {} ({e}); the CPU share needs root", dir.display()))?;
        for (file, value) in settings {
            std::fs::write(dir.join(file), &value).map_err(|e| format!("{}/{file} = {value}: {e}", dir.display()))?;
        }
        let procs = CString::new(dir.join("cgroup.procs").to_string_lossy().into_owned())?;
        Ok(CpuQuota { dir, procs, quota_us, period_us: PERIOD_US })
    }

    /// Starts `command`'s process inside the cgroup, from its first instruction: the child moves
    /// itself in between fork and exec.
    pub fn confine(&self, command: &mut std::process::Command) {
        let procs = self.procs.clone();
        // SAFETY: only async-signal-safe calls (open, write, close) between fork and exec, on memory
        // allocated before the fork.
        unsafe {
            command.pre_exec(move || {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // "0" means the writing process itself, in cgroup v1 and v2.
                let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if written != 1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }

    /// Percentage of one CPU, for reports.
    pub fn percent(&self) -> f64 {
        100.0 * self.quota_us as f64 / self.period_us as f64
    }
}

impl Drop for CpuQuota {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}
