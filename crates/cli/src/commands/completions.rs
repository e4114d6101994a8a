//! `elma-import completions`: shell completion scripts, printed on stdout.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::args::{Cli, Global};
use crate::exit;

/// Arguments of `completions`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
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

/// Runs `completions`.
pub fn run(args: CompletionsArgs, _global: &Global) -> anyhow::Result<u8> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "elma-import", &mut out);
    Ok(exit::OK)
}
