# servers.sh: shell functions the benchmark scripts share (bench/h2load.sh,
# bench/attack/compare.sh), sourced, not run. The sourcing script defines
# die, WORK (its scratch directory) and CONTENT (the directory the servers
# serve).

# next_port sets FREE_PORT to a loopback port nobody answers on and that this
# run has not given out yet, below the ephemeral range (32768 up) so that
# the clients' own connections, or an earlier server's sockets in TIME_WAIT,
# cannot be holding it.
USED_PORTS=" "
next_port() {
	local i
	for ((i = 0; i < 200; i++)); do
		FREE_PORT=$((20000 + RANDOM % 12000))
		[[ $USED_PORTS == *" $FREE_PORT "* ]] && continue
		USED_PORTS+="$FREE_PORT "
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$FREE_PORT") 2>/dev/null; then return; fi
	done
	die "no free port"
}

# h2o_conf PORT writes h2o's configuration: one thread, a cleartext
# listener (where h2o takes HTTP/2 with prior knowledge), the file handler
# ("/" is index.txt, the same bytes as the others' hello; h2o's file handler
# is faster than answering from mruby), no access log.
h2o_conf() {
	cat <<CONF
num-threads: 1
pid-file: $WORK/h2o.pid
access-log: /dev/null
error-log: $WORK/h2o.error.log
listen:
  host: 127.0.0.1
  port: $1
hosts:
  default:
    paths:
      /:
        file.dir: $CONTENT
        file.index: [index.txt]
CONF
	# Started as root, h2o would setuid to "nobody", who can neither read
	# the mktemp directory (0700) nor write the pid file in it.
	if ((EUID == 0)); then echo "user: root"; fi
}
