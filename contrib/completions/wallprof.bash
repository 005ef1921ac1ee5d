# bash completion for wallprof. Source it, or install it as
# /usr/share/bash-completion/completions/wallprof.
_wallprof()
{
	local cur prev cmd
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	cmd=${COMP_WORDS[1]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "record report dump convert diff top --help --version" -- "$cur"))
		return
	fi
	case $prev in
	-p | --pid)
		COMPREPLY=($(compgen -W "$(ps -e -o pid= 2>/dev/null)" -- "$cur"))
		return ;;
	--format)
		if [ "$cmd" = report ]; then
			COMPREPLY=($(compgen -W "text json" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "json folded svg speedscope trace pprof" -- "$cur"))
		fi
		return ;;
	--state)
		COMPREPLY=($(compgen -W "on-cpu runnable syscall lock sleep disk stopped other off-cpu io" -- "$cur"))
		return ;;
	-o | --output)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	-F | --frequency | -d | --duration | -n | --top | -t | --thread | --threshold | --max-overhead | -i | --interval)
		return ;;
	esac
	case $cur in
	--syscalls=*)
		# Classes, then the last comma-separated word completed.
		local list=${cur#--syscalls=} head=""
		case $list in *,*) head=${list%,*},; list=${list##*,} ;; esac
		COMPREPLY=($(compgen -P "--syscalls=$head" -W "file network io lock sleep default all read write fsync fdatasync futex epoll_wait poll accept connect recvfrom sendto nanosleep clock_nanosleep" -- "$list"))
		return ;;
	esac
	case $cmd in
	record) COMPREPLY=($(compgen -W "-p --pid -F --frequency -d --duration -o --output --format -q --quiet --syscalls --syscalls= --locks --threshold --max-overhead -r --realtime --realtime= -f --follow-forks -h --help --" -- "$cur")) ;;
	report) COMPREPLY=($(compgen -W "-t --thread -n --top --format -h --help" -- "$cur") $(compgen -f -X '!*.json' -- "$cur")) ;;
	convert) COMPREPLY=($(compgen -W "-o --output --format --threads --state -h --help" -- "$cur") $(compgen -f -X '!*.json' -- "$cur")) ;;
	diff) COMPREPLY=($(compgen -W "-o --output -n --top --state -h --help" -- "$cur") $(compgen -f -X '!*.json' -- "$cur")) ;;
	top) COMPREPLY=($(compgen -W "-p --pid -F --frequency -i --interval -h --help --" -- "$cur")) ;;
	dump) COMPREPLY=($(compgen -W "-p --pid -c --chain -j --json -h --help" -- "$cur")) ;;
	esac
}
complete -F _wallprof wallprof
