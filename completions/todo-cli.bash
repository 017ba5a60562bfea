# bash completion for todo-cli                               -*- shell-script -*-
#
# Options and their values (files, hosts) are completed here; everything else
# (subcommands, list filters, due:/pri: keywords, live task ids and tags) comes
# from `todo-cli __complete WORD...`, which is driven by libproto's command
# table, so this file never has to learn a new command.
#
# Install as todo-cli in bash-completion's completionsdir (cmake --install does),
# or source it from ~/.bashrc. Works with and without the bash-completion package.

# The options todo-cli takes before its subcommand (the long ones also go
# after it; `todo-cli __complete` offers those there).
_todo_cli_opts='-H --host -p --port --password-file --user --timeout --json --plain --no-color
--stop-on-error -h --help -V --version'

# Splits the line up to the cursor into words on blanks only, for shells without
# bash-completion: bash itself also splits on ':' and '=', which would break
# "due:2026-12-01" and "--host=example.org" into pieces. Quotes are removed.
_todo_cli_split_line() {
    local line=${COMP_LINE:0:COMP_POINT}
    words=()
    # shellcheck disable=SC2162 # backslashes are wanted as escapes here
    read -a words <<<"$line" 2>/dev/null || true
    if [[ -z $line || $line == *[[:blank:]] ]]; then
        words+=("")
    fi
    cword=$((${#words[@]} - 1))
    cur=${words[cword]}
    prev=${words[cword - 1]:-}
}

_todo_cli() {
    local cur prev words cword split=false
    if declare -F _init_completion >/dev/null 2>&1; then
        # -n : keeps "due:DATE" one word; -s splits "--opt=value" at the '='.
        _init_completion -s -n : || return
    else
        _todo_cli_split_line
        if [[ $cur == --*=* ]]; then
            prev=${cur%%=*}
            cur=${cur#*=}
            split=true
        fi
    fi

    # Walk the words before the cursor: skip todo-cli's own options (keeping
    # the ones that choose the server, so live values come from the same
    # server) and find the subcommand.
    local -a conn=()
    local i=1 w cmd_at=0
    while ((i < cword)); do
        w=${words[i]}
        case $w in
        --) cmd_at=$((i + 1)); break ;;
        -H | --host | -p | --port | --password-file)
            ((i + 1 < cword)) && conn+=("$w" "${words[i + 1]}")
            i=$((i + 2)); continue ;;
        --timeout) i=$((i + 2)); continue ;;
        --host=* | --port=* | --password-file=* | -H?* | -p?*) conn+=("$w") ;;
        -*) ;;
        *) cmd_at=$i; break ;;
        esac
        i=$((i + 1))
    done
    # A tilde in --password-file is not expanded in COMP_WORDS.
    # shellcheck disable=SC2088 # the tilde is matched literally on purpose
    for i in "${!conn[@]}"; do
        case ${conn[i]} in
        "~/"*) conn[i]=$HOME/${conn[i]#"~/"} ;;
        "--password-file=~/"*) conn[i]=--password-file=$HOME/${conn[i]#--password-file=\~/} ;;
        esac
    done

    if ((cmd_at == 0)); then
        # Still before the subcommand: option values, then option names.
        local want=
        if [[ $split == true ]]; then
            want=$prev
        elif ((cword > 1)); then
            case $prev in
            -H | --host | -p | --port | --password-file | --timeout) want=$prev ;;
            esac
        fi
        if [[ -n $want ]]; then
            case $want in
            --password-file)
                if declare -F _filedir >/dev/null 2>&1; then
                    _filedir
                else
                    compopt -o filenames 2>/dev/null
                    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                fi
                return ;;
            -H | --host)
                if declare -F _known_hosts_real >/dev/null 2>&1; then
                    _known_hosts_real -- "$cur"
                else
                    mapfile -t COMPREPLY < <(compgen -A hostname -- "$cur")
                fi
                return ;;
            *) COMPREPLY=(); return ;; # a port or a number of seconds
            esac
        fi
        if [[ $cur == -* ]]; then
            # shellcheck disable=SC2086 # the list is split on purpose
            mapfile -t COMPREPLY < <(compgen -W "$_todo_cli_opts" -- "$cur")
            return
        fi
        cmd_at=$cword
    fi

    # import reads the file named after it (stdin without one).
    if [[ ${words[cmd_at]} == import ]] && ((cword == cmd_at + 1)) && [[ $cur != -* ]]; then
        if declare -F _filedir >/dev/null 2>&1; then
            _filedir
        else
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        fi
        return
    fi

    # Ask todo-cli. A hung server must never hang the shell: todo-cli keeps its
    # own timeout short, and timeout(1) is a hard stop behind it.
    local -a run=(todo-cli)
    if command -v timeout >/dev/null 2>&1; then
        run=(timeout 1 todo-cli)
    fi
    mapfile -t COMPREPLY < <("${run[@]}" "${conn[@]}" __complete \
        "${words[@]:cmd_at:cword-cmd_at}" "$cur" 2>/dev/null)

    # "due:" wants its date typed right after it, not a space.
    if ((${#COMPREPLY[@]} == 1)) && [[ ${COMPREPLY[0]} == *: ]]; then
        compopt -o nospace 2>/dev/null
    fi
    # bash replaces only the part of the word after the last ':' (when ':'
    # is a word break), so candidates must lose the part before it.
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local colon_word=${cur%"${cur##*:}"}
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]#"$colon_word"}
        done
    fi
} &&
    complete -F _todo_cli todo-cli

# ex: filetype=sh
