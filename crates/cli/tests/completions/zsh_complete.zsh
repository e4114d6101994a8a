# Asks zsh for the completions of a partial command line, as a user's TAB would:
# an interactive zsh in a pseudo-terminal (zsh/zpty) loads compinit and the script,
# the line is typed with a TAB, and what the terminal shows is printed.
#
# usage: zsh -f zsh_complete.zsh SCRIPT 'partial command line'
zmodload zsh/zpty
local script=$1 line=$2 out chunk
zpty z zsh -f -i
zpty -w z "PS1='%% '; unsetopt list_ambiguous; autoload -Uz compinit; compinit -u -D; source ${(q)script}; LISTMAX=1000; print -- READY-\$((40+2))"
# Wait until the set-up has run (READY-42 is printed, not the echoed READY-$((40+2))).
for i in {1..100}; do
  while zpty -r -t z chunk; do out+=$chunk; done
  [[ $out == *READY-42* ]] && break
  sleep 0.1
done
out=
zpty -w -n z "$line"$'\t'
# Read until the terminal has been quiet for a second (at most 15 s): a busy machine may
# take a while to run the completion functions.
local quiet=0
for i in {1..150}; do
  local got=0
  while zpty -r -t z chunk; do out+=$chunk; got=1; done
  if (( got )); then quiet=0; else (( quiet++ )); fi
  (( quiet >= 10 && ${#out} > ${#line} )) && break
  sleep 0.1
done
zpty -d z
print -r -- "$out"
