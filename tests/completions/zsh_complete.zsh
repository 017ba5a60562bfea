#!/usr/bin/env zsh
# zsh_complete.zsh FPATH_DIR LINE... - for each LINE, prints the candidates
# zsh's completion system offers for a Tab at its end, one per line, after a
# line "== LINE".
#
# A real interactive zsh runs under zpty with compinit loaded from FPATH_DIR.
# compadd is wrapped so every match that zsh accepts (after its own matching
# against the word under the cursor) is printed between markers instead of
# being shown in a menu. One zsh serves every LINE: after each Tab the line is
# killed with ^U and the next one is typed.
zmodload zsh/zpty || exit 2
fdir=$1
shift

zpty -b todo_z zsh -f -i || exit 2
zpty -w todo_z "PROMPT='' RPROMPT='' PS2=''; unsetopt zle_bracketed_paste 2>/dev/null; zle_bracketed_paste=()"
zpty -w todo_z "fpath=(${(q)fdir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w todo_z "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' insert-tab false"
zpty -w todo_z 'compadd() { local -a __hits; builtin compadd -A __hits "$@"; local h; for h in $__hits; do print -r -- "<<HIT>>$IPREFIX$h"; done; builtin compadd "$@"; }'
# Tab runs complete-word and then says it is done.
zpty -w todo_z '_todo_tab() { zle complete-word; print -r -- "<<END>>"; }; zle -N _todo_tab'
zpty -w todo_z "bindkey '^I' _todo_tab; bindkey '^U' kill-whole-line"
zpty -w todo_z "print -r -- '<<READY>>'"

# read_until MARKER: appends the inner shell's output to $out until MARKER
# (followed by a line end) has been seen; gives up after 20 s.
read_until() {
    local chunk start=$SECONDS
    while [[ $out != *"$1"[$'\r\n']* ]]; do
        chunk=''
        zpty -r -t todo_z chunk 2>/dev/null || sleep 0.02
        out+=$chunk
        if (( SECONDS - start > 20 )); then
            print -u2 "zsh_complete: no '$1' after 20 s"
            zpty -d todo_z
            exit 2
        fi
    done
}

out=''
read_until '<<READY>>'
local -aU hits
for line in "$@"; do
    out=''
    zpty -n -w todo_z "$line"$'\t'
    read_until '<<END>>'
    zpty -n -w todo_z $'\x15'
    # Matches of the wrapped compadd, in order, without duplicates. Bytes
    # C, so that ".*" also spans the odd bytes of zle's redraw that can land
    # on a hit's line under load (in a UTF-8 locale "." stops at them and
    # the redraw was taken for part of the hit).
    hits=(${(f)"$(print -r -- $out | LC_ALL=C tr -d '\r' | LC_ALL=C sed -n 's/.*<<HIT>>//p')"})
    print -r -- "== $line"
    (( $#hits )) && print -rl -- $hits
done
zpty -d todo_z
