#!/usr/bin/env zsh
# zsh_complete.zsh FPATH_DIR LINE - prints, one per line, the candidates zsh's
# completion system offers for a Tab at the end of LINE.
#
# A real interactive zsh runs under zpty with compinit loaded from FPATH_DIR.
# compadd is wrapped so every match that zsh accepts (after its own
# matching against the word under the cursor) is printed between markers,
# instead of being shown in a menu.
zmodload zsh/zpty || exit 2
fdir=$1
line=$2

zpty -b todo_z zsh -f -i || exit 2
# Each send is one line of the inner shell's input.
zpty -w todo_z "PROMPT='' RPROMPT='' PS2=''; unsetopt zle_bracketed_paste 2>/dev/null; zle_bracketed_paste=()"
zpty -w todo_z "fpath=(${(q)fdir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w todo_z "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' insert-tab false"
zpty -w todo_z 'compadd() { local -a __hits; builtin compadd -A __hits "$@"; local h; for h in $__hits; do print -r -- "<<HIT>>$IPREFIX$h"; done; builtin compadd "$@"; }'
zpty -w todo_z '_todo_end() { print -r -- "<<END>>"; }; comppostfuncs=(_todo_end)'
zpty -w todo_z "bindkey '^I' complete-word"
zpty -w todo_z "print -r -- '<<READY>>'"
# Read until the setup has run, so the output of the Tab is all that follows.
out=''
while zpty -r -t todo_z chunk 2>/dev/null || sleep 0.05; do
    out+=$chunk
    chunk=''
    [[ $out == *'<<READY>>'[$'\r\n']* ]] && break
    (( SECONDS > 20 )) && { print -u2 "zsh_complete: inner zsh did not start"; exit 2; }
done
zpty -n -w todo_z "$line"$'\t'
out=''
while true; do
    chunk=''
    zpty -r -t todo_z chunk 2>/dev/null || sleep 0.05
    out+=$chunk
    [[ $out == *'<<END>>'* ]] && break
    (( SECONDS > 20 )) && { print -u2 "zsh_complete: no completion after 20 s"; exit 2; }
done
zpty -d todo_z
# Matches of the wrapped compadd, in order, without duplicates.
local -aU hits
hits=(${(f)"$(print -r -- $out | tr -d '\r' | sed -n 's/.*<<HIT>>//p')"})
print -rl -- $hits
