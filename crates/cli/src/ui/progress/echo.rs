//! The terminal's echo of control characters, off while bars are drawn.
//!
//! A bar line is as wide as the terminal. When Ctrl-C is pressed the terminal itself
//! echoes `^C` after it, which wraps onto a new line; the bars' next redraw then starts
//! one line too low and leaves the old frame on screen. With the echo of control
//! characters (`ECHOCTL`) off nothing is echoed and the redraw lands where it should.
//! Ctrl-C still interrupts: signals (`ISIG`) are untouched.
//!
//! Only a process in the terminal's foreground changes its settings: a background one
//! would be stopped by the terminal (`SIGTTOU`) for trying. The setting is put back when
//! the bars go and before a second Ctrl-C quits at once. A process killed outright by a
//! signal cannot put it back (`stty echoctl` does).

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this process turned the echo off and has not put it back yet.
static TURNED_OFF: AtomicBool = AtomicBool::new(false);

/// `ECHOCTL` off on stderr's terminal for as long as the value lives.
pub struct ControlEchoOff(());

impl ControlEchoOff {
    /// Turns the echo off, if stderr is a terminal whose foreground this process is in
    /// and the echo is on.
    pub fn new() -> ControlEchoOff {
        #[cfg(unix)]
        if imp::set(false) == Some(true) {
            TURNED_OFF.store(true, Ordering::SeqCst);
        }
        ControlEchoOff(())
    }
}

impl Drop for ControlEchoOff {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the echo back if this process turned it off: when the bars go, and before the
/// process exits without unwinding (`std::process::exit` runs no destructors).
pub fn restore() {
    if TURNED_OFF.swap(false, Ordering::SeqCst) {
        #[cfg(unix)]
        imp::set(true);
    }
}

#[cfg(unix)]
mod imp {
    use rustix::termios::{tcgetattr, tcgetpgrp, tcsetattr, LocalModes, OptionalActions};

    /// Sets `ECHOCTL` on stderr's terminal to `on`; what it was, or `None` when it was
    /// left alone (not a terminal, not in its foreground, or the terminal refused).
    pub fn set(on: bool) -> Option<bool> {
        let fd = std::io::stderr();
        if tcgetpgrp(&fd).ok()? != rustix::process::getpgrp() {
            return None;
        }
        let mut modes = tcgetattr(&fd).ok()?;
        let was = modes.local_modes.contains(LocalModes::ECHOCTL);
        if was != on {
            modes.local_modes.set(LocalModes::ECHOCTL, on);
            tcsetattr(&fd, OptionalActions::Now, &modes).ok()?;
        }
        Some(was)
    }
}
