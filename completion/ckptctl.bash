# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# bash completion for ckptctl(1): verbs, the flags of each verb, container
# names and image ids from the running ckptd (the socket given on the line
# with --socket, else $CKPTD_SOCKET, else the default), files for -o, -i
# and inspect, a command after "run NAME --".

_ckptctl_verbs="run attach list ps wait stats logs kill rm checkpoint restart cancel images inspect export import events version check"
_ckptctl_signals="HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM
STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS"

# The flags of a verb, and those of them that take a value.
_ckptctl_flags() {
	case $1 in
	run) echo "-t --cwd --env --env-file --hostname --net --publish --userns --memory --pids --cpus --" ;;
	logs) echo "--follow -f" ;;
	kill) echo "--signal" ;;
	checkpoint) echo "--check --leave-running --incremental --full --compress --timeout --ghost-limit --external-unix --tcp-pending --hook --output -o" ;;
	export) echo "--output -o" ;;
	import) echo "--input -i" ;;
	inspect) echo "--encode" ;;
	restart) echo "--image --timeout --trust-image --lazy --hook --input -i --allow-changed-files --userns= --privileged --cap-add" ;;
	esac
}
_ckptctl_takes_value() {
	case $1 in
	--socket|--cwd|--env|-e|--env-file|--hostname|--net|--publish|--ghost-limit|--external-unix|--signal|-s|--timeout|--output|-o|--image|--input|-i|--hook|--cap-add|--memory|--pids|--cpus|--compress|--tcp-pending) return 0 ;;
	esac
	return 1
}

# ckptctl against the ckptd of the line being completed; never hangs long.
_ckptctl_ask() {
	local args=()
	[[ -n $_ckptctl_sock ]] && args=(--socket "$_ckptctl_sock")
	timeout 3 "$_ckptctl_bin" "${args[@]}" "$@" 2>/dev/null </dev/null
}
_ckptctl_containers() { _ckptctl_ask list | awk 'NR > 1 { print $1 }'; }
_ckptctl_image_ids() { [[ -n $1 ]] && _ckptctl_ask images "$1" | awk 'NR > 1 { print $2 }'; }

# _ckptctl_add COMPGEN-ARGS...: append what compgen gives, one a line
_ckptctl_add() { mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen "$@"); }
_ckptctl_files() {
	compopt -o filenames 2>/dev/null
	_ckptctl_add -f -- "$1"
}

_ckptctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local i w verb="" name="" nargs=0 after_dd=-1
	local _ckptctl_bin=${COMP_WORDS[0]} _ckptctl_sock=""

	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if ((after_dd >= 0)); then
			after_dd=$((after_dd + 1))
			continue
		fi
		case $w in
		--) [[ $verb == run ]] && after_dd=0 ;;
		--socket) i=$((i + 1)); _ckptctl_sock=${COMP_WORDS[i]} ;;
		--socket=*) _ckptctl_sock=${w#--socket=} ;;
		-*=*|--json|--leave-running|--incremental|--full|--trust-image|--lazy|--check|--encode|--help|-h|-t|-f|--follow) ;;
		-*) _ckptctl_takes_value "$w" && i=$((i + 1)) ;;
		*)
			if [[ -z $verb ]]; then
				verb=$w
			else
				[[ -z $name ]] && name=$w
				nargs=$((nargs + 1))
			fi
			;;
		esac
	done
	_ckptctl_sock=${_ckptctl_sock:-${CKPTD_SOCKET:-}}

	# "run NAME -- CMD ARGS": a command, then its files
	if ((after_dd == 0)); then
		_ckptctl_add -c -- "$cur"
		return
	elif ((after_dd > 0)); then
		_ckptctl_files "$cur"
		return
	fi

	# the value of a flag
	case $prev in
	--socket|--env-file) _ckptctl_files "$cur"; return ;;
	--cwd) compopt -o filenames 2>/dev/null; _ckptctl_add -d -- "$cur"; return ;;
	--env|-e|--hostname|--publish|--ghost-limit|--timeout) return ;;
	--net) _ckptctl_add -W "private host" -- "$cur"; return ;;
	--external-unix) _ckptctl_add -W "drop" -- "$cur"; return ;;
	--compress) _ckptctl_add -W "zstd none" -- "$cur"; return ;;
	--tcp-pending) _ckptctl_add -W "refuse reset" -- "$cur"; return ;;
	--signal|-s)
		[[ $verb == kill ]] && _ckptctl_add -W "$_ckptctl_signals" -- "${cur^^}"
		return ;;
	--image) _ckptctl_add -W "$(_ckptctl_image_ids "$name")" -- "$cur"; return ;;
	--output|-o|--input|-i)
		[[ -z $cur || $cur == - ]] && COMPREPLY=(-)
		_ckptctl_files "$cur"
		return ;;
	esac

	if [[ -z $verb ]]; then
		if [[ $cur == -* ]]; then
			_ckptctl_add -W "--socket --json --help --version" -- "$cur"
		else
			_ckptctl_add -W "$_ckptctl_verbs" -- "$cur"
		fi
		return
	fi
	if [[ $cur == -* ]]; then
		_ckptctl_add -W "$(_ckptctl_flags "$verb") --json --socket --help" -- "$cur"
		return
	fi
	case $verb in
	images)
		# "images rm NAME ID" or "images [NAME]"
		if ((nargs == 0)); then
			_ckptctl_add -W "rm $(_ckptctl_containers)" -- "$cur"
		elif [[ $name == rm ]] && ((nargs == 1)); then
			_ckptctl_add -W "$(_ckptctl_containers)" -- "$cur"
		elif [[ $name == rm ]] && ((nargs == 2)); then
			_ckptctl_add -W "$(_ckptctl_image_ids "$prev")" -- "$cur"
		fi ;;
	logs|kill|rm|checkpoint|restart|cancel|ps|wait|stats|import)
		((nargs == 0)) && _ckptctl_add -W "$(_ckptctl_containers)" -- "$cur" ;;
	export)
		# "export NAME [ID]"
		if ((nargs == 0)); then
			_ckptctl_add -W "$(_ckptctl_containers)" -- "$cur"
		elif ((nargs == 1)); then
			_ckptctl_add -W "$(_ckptctl_image_ids "$name")" -- "$cur"
		fi ;;
	inspect)
		((nargs == 0)) && { [[ -z $cur || $cur == - ]] && COMPREPLY=(-); _ckptctl_files "$cur"; } ;;
	esac
	return 0
}
complete -F _ckptctl ckptctl
