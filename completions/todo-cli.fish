# fish completion for todo-cli.
#
# Options and their values (files, hosts) are completed here; everything else
# (subcommands, list filters, due:/pri: keywords, live task ids and tags) comes
# from `todo-cli __complete WORD...`, which is driven by libproto's command
# table. Install as todo-cli.fish in a vendor_completions.d directory
# (cmake --install does) or in ~/.config/fish/completions.

# Prints the words before the cursor that follow todo-cli's own options
# (subcommand first), or nothing while the cursor is still among the options.
# With --conn it prints the options that choose the server instead.
function __todo_cli_split
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l conn
    while set -q tokens[1]
        switch $tokens[1]
            case --
                set -e tokens[1]
                break
            case -H --host -p --port --password-file
                set -q tokens[2]; and set -a conn $tokens[1] $tokens[2]
                set -e tokens[1..2]
            case --timeout
                set -e tokens[1..2]
            case '--host=*' '--port=*' '--password-file=*' '-H?*' '-p?*'
                set -a conn $tokens[1]
                set -e tokens[1]
            case '-*'
                set -e tokens[1]
            case '*'
                break
        end
    end
    if test "$argv[1]" = --conn
        string join \n -- $conn
    else
        string join \n -- $tokens
    end
end

# True while no subcommand has been typed, so options are still allowed.
function __todo_cli_needs_command
    set -l words (__todo_cli_split)
    test (count $words) -eq 0
end

# True on the word after import, which names the file to read.
function __todo_cli_import_file
    set -l words (__todo_cli_split)
    test (count $words) -eq 1; and test "$words[1]" = import
end

# The helper's candidates for the word under the cursor. A hung server must
# never hang the shell: todo-cli keeps its own timeout short, and timeout(1)
# is a hard stop behind it.
function __todo_cli_candidates
    set -l run todo-cli
    command -sq timeout; and set run timeout 1 todo-cli
    set -l words (__todo_cli_split)
    set -l cur (commandline -ct)
    # Option names are completed by fish itself before the subcommand.
    if not set -q words[1]; and string match -q -- '-*' $cur
        return
    end
    # A tilde in --password-file is not expanded in the tokens.
    set -l conn (__todo_cli_split --conn | string replace -r '^(--password-file=)?~/' '$1'$HOME/)
    $run $conn __complete $words $cur 2>/dev/null
end

complete -c todo-cli -f
complete -c todo-cli -n __todo_cli_needs_command -s H -l host -x -a '(__fish_print_hostnames)' -d 'Server host (TODO_HOST)'
complete -c todo-cli -n __todo_cli_needs_command -s p -l port -x -d 'Server port (TODO_PORT)'
complete -c todo-cli -n __todo_cli_needs_command -l password-file -r -F -d 'Read the password from a file'
complete -c todo-cli -n __todo_cli_needs_command -l user -x -d 'Log in as this user (TODO_USER)'
complete -c todo-cli -n __todo_cli_needs_command -l timeout -x -d 'Bound a connect or a reply (seconds)'
complete -c todo-cli -n __todo_cli_needs_command -l json -d 'Print JSON'
complete -c todo-cli -n __todo_cli_needs_command -l plain -d 'Print tab-separated lines'
complete -c todo-cli -n __todo_cli_needs_command -l no-color -d 'No colour in the output'
complete -c todo-cli -n __todo_cli_needs_command -l stop-on-error -d 'In batch mode, stop at the first failure'
complete -c todo-cli -n __todo_cli_needs_command -s h -l help -d 'Show help and exit'
complete -c todo-cli -n __todo_cli_needs_command -s V -l version -d 'Show the version and exit'
complete -c todo-cli -a '(__todo_cli_candidates)'
complete -c todo-cli -n __todo_cli_import_file -F
