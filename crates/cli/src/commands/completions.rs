//! `elma-import completions`: shell completion scripts, printed on stdout.
//!
//! The scripts are clap_complete's static ones: subcommands, flags, and the values of
//! flags with a fixed list (`--progress`, `--locale`, `--chunk-format`, …). clap_complete
//! names bash's shell functions inconsistently for a binary whose name holds a hyphen
//! (the dispatcher sets `cmd` to `elma__import__subcmd__run` while the `case` waits for
//! `elma__subcmd__import__subcmd__run`, so nothing past the subcommand completed): the
//! bash script is mended here, and `tests/completions.rs` sources each script in its
//! shell and asks it for completions.

use clap::Args;
use clap_complete::Shell;

use crate::exit;
use crate::opts::Global;
use crate::ui;

/// The binary's name, as the scripts register it.
const BIN: &str = "elma-import";

/// Arguments of `completions`.
#[derive(Debug, Args)]
#[command(after_help = "Completes subcommands, flags and the values of flags with a fixed list \
(e.g. `run --progress <TAB>`). Prints a shell script, never JSON: --json is refused.

Examples:
  elma-import completions bash \\
      > ~/.local/share/bash-completion/completions/elma-import
  # with fpath+=~/.zfunc in ~/.zshrc
  elma-import completions zsh > ~/.zfunc/_elma-import
  elma-import completions fish \\
      > ~/.config/fish/completions/elma-import.fish")]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

/// The completion script for `shell` of the command line `cmd`.
pub fn script(shell: Shell, mut cmd: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    match shell {
        Shell::Bash => out = mend_bash(&String::from_utf8_lossy(&out)).into_bytes(),
        Shell::Fish => out.extend_from_slice(fish_positional_values(&cmd).as_bytes()),
        _ => {}
    }
    out
}

/// fish lines for the values of positional arguments with a fixed list
/// (`completions <TAB>`), which clap_complete's fish script leaves out.
fn fish_positional_values(cmd: &clap::Command) -> String {
    let mut lines = String::new();
    for sub in cmd.get_subcommands() {
        for arg in sub.get_positionals() {
            let values: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_string())
                .collect();
            if !values.is_empty() {
                lines.push_str(&format!(
                    "complete -c {BIN} -n \"__fish_{}_using_subcommand {}\" -f -a \"{}\"\n",
                    BIN.replace('-', "_"),
                    sub.get_name(),
                    values.join(" ")
                ));
            }
        }
    }
    lines
}

/// One name for bash's per-command `case` labels: the dispatcher's
/// (`elma__import__subcmd__run`), where clap_complete wrote the hyphen of the binary's
/// name as a subcommand separator (`elma__subcmd__import__subcmd__run`).
fn mend_bash(script: &str) -> String {
    script.replace(&BIN.replace('-', "__subcmd__"), &BIN.replace('-', "__"))
}

/// Runs `completions`.
pub fn run(args: CompletionsArgs, global: &Global, cmd: clap::Command) -> anyhow::Result<u8> {
    if global.json {
        return Err(exit::usage(
            "`completions` prints a shell script, not JSON: leave out --json (e.g. \
             `elma-import completions bash > ~/.local/share/bash-completion/completions/elma-import`)",
        ));
    }
    ui::out_bytes(&script(args.shell, cmd))?;
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bash_case_labels_match_the_dispatcher() {
        let script = String::from_utf8(super::script(
            clap_complete::Shell::Bash,
            <crate::args::Cli as clap::CommandFactory>::command(),
        ))
        .unwrap();
        assert!(!script.contains("elma__subcmd__import"), "a label the dispatcher never sets");
        assert!(script.contains("cmd=\"elma__import__subcmd__run\""));
        assert!(script.contains("\n        elma__import__subcmd__run)"));
    }
}
