#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/debian/in-nspawn.sh DEBDIR OUTDIR: shmview's packages under a real
# systemd. Run by shmview-checks.service inside the container that
# tests/debian/nspawn.sh boots (never on a host: it installs, breaks and
# purges the system service). Each check prints "ok - ..." or
# "not ok - ..." to OUTDIR/results, which ends with "N passed, N failed";
# OUTDIR/status is written last (0: all passed), then the journal.
set -u

debs=$1
out=$2
exec >"$out/log" 2>&1
passed=0
failed=0

ok() {
    passed=$((passed + 1))
    echo "ok - $*" | tee -a "$out/results"
}
bad() {
    failed=$((failed + 1))
    echo "not ok - $*" | tee -a "$out/results"
}
# check DESCRIPTION CMD...: CMD's success is the check; its output is kept
# in the log and shown with a failure.
check() {
    desc=$1
    shift
    if "$@" >/tmp/check.out 2>&1; then
        ok "$desc"
    else
        bad "$desc"
        sed 's/^/    /' /tmp/check.out | tee -a "$out/results"
    fi
    cat /tmp/check.out
}
# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
    n=$(($1 * 10))
    shift
    while ! "$@" >/dev/null 2>&1; do
        n=$((n - 1))
        [ $n -gt 0 ] || return 1
        sleep 0.1
    done
}
prop() { systemctl show -P "$1" "${2:-shmviewd.service}"; }
is() { [ "$1" = "$2" ] || { echo "'$1' is not '$2'"; return 1; }; }
proc_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
snapshot() {
    find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /srv \
        -o -path /tmp -o -path /var/tmp -o -path /var/log -o -path /var/cache \
        -o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /run/user \
        -o -path /run/systemd -o -path /var/lib/systemd \) -prune -o -print | sort
    ls -a /dev/shm | sort
}
# useradd/userdel of the test user alice leave these backups (not the
# packages: sysusers' /etc/passwd- and /etc/group- exist from the start).
snapshot_filtered() { snapshot | grep -vxE '/etc/sub[ug]id-'; }
finish() {
    echo "$passed passed, $failed failed" | tee -a "$out/results"
    journalctl -b --no-pager -o short-monotonic >"$out/journal.txt" 2>&1
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
    echo $? >"$out/status"
    exit 0
}

# The unit is ordered after multi-user.target (the system stays "starting"
# until this script ends, so is-system-running --wait would never return).
echo "system: $(systemctl is-system-running)"
snapshot_filtered >/tmp/files.before
arch=$(dpkg --print-architecture)
mkdir -p /tmp/debs
cp "$debs"/*.deb /tmp/debs/
pkgs=$(for d in /tmp/debs/*.deb; do dpkg-deb -f "$d" Package; done | tr '\n' ' ')

# ---- first install: the user, the socket started, nothing else -------------
check "apt-get install ./*.deb ($pkgs), offline" \
    sh -c 'cd /tmp/debs && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./*.deb'
check "systemd-sysusers made the system user shmview (nologin, uid < 1000)" \
    sh -c 'getent passwd shmview | awk -F: '\''$3 < 1000 && $7 == "/usr/sbin/nologin"'\'' | grep -q .'
check "shmviewd.socket enabled and listening after the install" \
    sh -c 'systemctl is-enabled shmviewd.socket && systemctl is-active shmviewd.socket'
check "shmviewd.service not started before the first client" \
    is "$(prop ActiveState)" inactive
check "/run/shmview/shmview.sock: a socket, shmview:shmview 0660, in a directory of shmview's" \
    sh -c 'test -S /run/shmview/shmview.sock &&
        test "$(stat -c "%U:%G %a" /run/shmview/shmview.sock)" = "shmview:shmview 660" &&
        test "$(stat -c "%U %a" /run/shmview)" = "shmview 755"'
check "the user units are installed, not enabled for every user" \
    sh -c 'test -f /usr/lib/systemd/user/shmviewd.socket &&
        test "$(systemctl --global is-enabled shmviewd.socket)" = disabled &&
        test ! -e /etc/systemd/user/sockets.target.wants/shmviewd.socket'
check "systemd-analyze verify: the units and their man pages (man-db)" \
    sh -c 'out=$(systemd-analyze verify shmviewd.socket shmviewd.service 2>&1); echo "$out"; test -z "$out"'

# ---- socket activation, Type=notify, STATUS=, the sandbox ----------------
check "shmview status starts the daemon through the socket" shmview status
check "Type=notify service active (running) once READY=1" \
    sh -c 'test "$(systemctl show -P Type shmviewd.service)" = notify &&
        test "$(systemctl show -P SubState shmviewd.service)" = running'
check "it uses the socket systemd passed" \
    sh -c 'journalctl -u shmviewd -o cat | grep "using the socket passed by the service manager: /run/shmview/shmview.sock"'
pid=$(prop MainPID)
check "runs /usr/sbin/shmviewd as user shmview" \
    sh -c "test \"\$(readlink /proc/$pid/exe)\" = /usr/sbin/shmviewd &&
        test \"\$(stat -c %U /proc/$pid)\" = shmview"
check "sandbox: no capabilities, NoNewPrivs, seccomp filter" \
    sh -c "test \"$(proc_field "$pid" CapEff)\" = 0000000000000000 &&
        test \"$(proc_field "$pid" CapBnd)\" = 0000000000000000 &&
        test \"$(proc_field "$pid" NoNewPrivs)\" = 1 && test \"$(proc_field "$pid" Seccomp)\" = 2"
exposure=$(systemd-analyze security shmviewd.service 2>/dev/null |
    sed -n 's/.*Overall exposure level for shmviewd.service: \([0-9.]*\).*/\1/p')
check "systemd-analyze security shmviewd.service: exposure $exposure (at most 1.0)" \
    awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 1.0) }'

check "python3-shmview: import shmview with Debian's python3, status from the system daemon" \
    /usr/bin/python3 -c 'import shmview
with shmview.connect() as c:
    print(shmview.__version__, c.status())'
# ---- which daemon the clients trust -----------------------------------------
# A client checks the uid at the other end of the socket (SO_PEERCRED)
# before it sends anything: root, its own uid, or the owner of the
# socket's directory when nobody else may write there. For a socket
# systemd made, that uid is the one that called listen(): systemd's.
peer_of() {
    /usr/bin/python3 -c 'import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
print(struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1])' "$1"
}
shmview_gid=$(getent group shmview | cut -d: -f3)
# nobody, in group shmview (may connect: the socket is 0660 shmview:shmview);
# users other than root name the system socket (docs/systemd.md)
as_member() {
    SHMVIEW_SOCKET=/run/shmview/shmview.sock \
        setpriv --reuid=nobody --regid=nogroup --groups="$shmview_gid" "$@"
}
peer=$(peer_of /run/shmview/shmview.sock)
check "the socket's peer is uid $peer: root (systemd listened; shmviewd accepts on it)" is "$peer" 0
check "root trusts the system daemon: shmview status" shmview status
check "a non-root member of group shmview trusts it: shmview status" as_member shmview status
check "python3-shmview as that member: status" as_member /usr/bin/python3 -c 'import shmview
with shmview.connect() as c:
    print(c.status())'
check "a user outside the group cannot connect (socket 0660), and is told why" \
    sh -c 'out=$(SHMVIEW_SOCKET=/run/shmview/shmview.sock setpriv --reuid=nobody \
            --regid=nogroup --clear-groups shmview status 2>&1); rc=$?
        echo "$out"; test $rc -ne 0 && echo "$out" | grep -q "refused the connection"'
# The directory-owner rule, under the same unit: a daemon of user shmview
# listening itself (as one started by hand would) on a socket in
# /run/shmview, shmview's directory, mode 0755. The socket it binds has
# the mode its umask leaves: 0770 lets the group connect.
setpriv --reuid=shmview --regid=shmview --init-groups sh -c 'umask 0007 &&
    exec /usr/sbin/shmviewd --socket /run/shmview/own.sock --prefix ownlisten' 2>/tmp/own.log &
own=$!
wait_for 15 test -S /run/shmview/own.sock
check "a daemon of user shmview listening itself in /run/shmview: its peer is shmview" \
    is "$(peer_of /run/shmview/own.sock)" "$(id -u shmview)"
check "root trusts it (owner of /run/shmview, 0755): shmview --socket .../own.sock status" \
    shmview --socket /run/shmview/own.sock status
check "so does a member of group shmview" as_member shmview --socket /run/shmview/own.sock status
chmod 0775 /run/shmview
check "with /run/shmview group-writable, root refuses that daemon, and says why" \
    sh -c 'out=$(shmview --socket /run/shmview/own.sock status 2>&1); rc=$?
        echo "$out"; test $rc -ne 0 && echo "$out" | grep -q "does not trust"'
check "... but still trusts the socket-activated one (root listens there)" shmview status
chmod 0755 /run/shmview
kill -TERM "$own"
wait "$own"
check "the hand-started daemon stopped cleanly: no socket, only its prefix lock in /dev/shm" \
    sh -c 'cat /tmp/own.log; test ! -e /run/shmview/own.sock && test -f /dev/shm/ownlisten..lock &&
        ! ls /dev/shm | grep ^ownlisten | grep -vx "ownlisten\.\.lock"'
rm -f /run/shmview/ownlisten.state /dev/shm/ownlisten..lock

printf 'hello, systemd' >/tmp/payload
check "create and write segments" sh -c 'shmview create frames 64K --mode 0644 &&
    shmview write frames:4096 </tmp/payload && shmview create spare 4K'
status_has_2() { prop StatusText | grep -q '^2 segments'; }
check "STATUS= follows the counters: $(wait_for 15 status_has_2; prop StatusText)" status_has_2
same_data() { is "$(shmview cat frames:4096:14)" "hello, systemd"; }

# ---- segments outlive the daemon ------------------------------------------
check "systemctl stop shmviewd.service: the socket stays, so do the state file and the segments" \
    sh -c 'systemctl stop shmviewd.service && systemctl is-active shmviewd.socket &&
        test -f /run/shmview/shmview.state && test -f /dev/shm/shmview.frames'
check "the next client starts it again and reads the same bytes" same_data
check "systemctl restart shmviewd.service keeps the segments" \
    sh -c "systemctl restart shmviewd.service && test \"\$(systemctl show -P MainPID shmviewd.service)\" != $pid"
check "... and their bytes" same_data
pid=$(prop MainPID)
restarts=$(prop NRestarts)
systemctl kill -s KILL shmviewd.service
restarted() { [ "$(prop NRestarts)" -gt "$restarts" ] && [ "$(prop SubState)" = running ]; }
check "SIGKILL: Restart=on-failure brings it back (NRestarts $restarts -> $(wait_for 30 restarted; prop NRestarts))" restarted
check "... with the segments and their bytes" same_data

# ---- a config error: at error priority, not retried, recoverable ---------
# (reset-failed also resets the start-rate counter the checks above used)
systemctl reset-failed shmviewd.service
cp /etc/shmview/shmviewd.conf /tmp/shmviewd.conf.orig
printf 'sokcet = /x\n' >>/etc/shmview/shmviewd.conf
check "a bad config file fails the restart" sh -c '! systemctl restart shmviewd.service'
restarts=$(prop NRestarts)
sleep 2
check "exit status 78 (EX_CONFIG), Result=exit-code" \
    sh -c 'test "$(systemctl show -P ExecMainStatus shmviewd.service)" = 78 &&
        test "$(systemctl show -P Result shmviewd.service)" = exit-code'
check "not retried (RestartPreventExitStatus=): failed, NRestarts stays $restarts" \
    sh -c "test \"\$(systemctl show -P NRestarts shmviewd.service)\" = $restarts &&
        test \"\$(systemctl show -P ActiveState shmviewd.service)\" = failed"
check "journalctl -u shmviewd -p err names the file and line" \
    sh -c "journalctl -u shmviewd -p err -o cat | grep -F \"/etc/shmview/shmviewd.conf:$(wc -l </etc/shmview/shmviewd.conf): unknown key 'sokcet'\""
check "the socket unit stays up and its socket stays" \
    sh -c 'systemctl is-active shmviewd.socket && test -S /run/shmview/shmview.sock'
check "a client meanwhile gets an error (one start attempt: FlushPending=yes)" \
    sh -c '! timeout 10 shmview status'
sleep 1
check "... and the socket survives it ($(prop ActiveState shmviewd.socket)/$(prop Result shmviewd.socket))" \
    sh -c 'systemctl is-active shmviewd.socket && test -S /run/shmview/shmview.sock'
cp /tmp/shmviewd.conf.orig /etc/shmview/shmviewd.conf
check "recovery with the socket up: fix the file; the next client starts the daemon, segments back" \
    same_data

# Clients in a burst make the service hit its start limit, which fails the
# socket unit too (RemoveOnStop= deletes the socket): the documented
# recovery is reset-failed and starting the socket again.
systemctl reset-failed shmviewd.service
printf 'sokcet = /x\n' >>/etc/shmview/shmviewd.conf
systemctl stop shmviewd.service
for i in 1 2 3 4 5 6; do timeout 10 shmview status >/dev/null 2>&1; sleep 0.2; done
check "a burst of clients against a bad config: start limit hit, socket unit failed ($(prop Result shmviewd.socket))" \
    is "$(prop Result shmviewd.socket)" service-start-limit-hit
cp /tmp/shmviewd.conf.orig /etc/shmview/shmviewd.conf
check "recovery: fix the file, reset-failed, start the socket; the segments are back" \
    sh -c 'systemctl reset-failed shmviewd.service shmviewd.socket && systemctl start shmviewd.socket &&
        test "$(shmview cat frames:4096:14)" = "hello, systemd"'

# ---- sealed segments: kept by systemd's fd store (begin) -------------------
# A sealed segment (create --sealed) is a memfd with no name in /dev/shm: it
# outlives `systemctl restart`, kill -9 with Restart=on-failure and (after
# the upgrade below: sealed_after_upgrade) a package upgrade only because the
# daemon keeps it in the service's fd store (FileDescriptorStoreMax=). A
# holder keeps a writable view throughout and counts in it: the new
# daemon's views must see its count move (the same memory), and it must not
# die (no SIGBUS) nor see the first bytes change.
systemctl reset-failed shmviewd.service
check "create --sealed: 64K, mode 0640, given to nobody, bytes written" \
    sh -c "shmview create --sealed --mode 0640 sealedseg 64K &&
        printf 'sealed bytes' | shmview write sealedseg && shmview chown nobody:nogroup sealedseg &&
        shmview list | grep '^sealedseg .* sealed\$'"
rm -f /tmp/sealed.ready /tmp/sealed.bad
/usr/bin/python3 -c '
import shmview, struct, time
c = shmview.connect()
v = c.open("sealedseg", writable=True)
open("/tmp/sealed.ready", "w").close()
n = 0
while True:
    n += 1
    v[4096:4104] = struct.pack("<Q", n)
    if bytes(v[0:12]) != b"sealed bytes":
        open("/tmp/sealed.bad", "w").write(repr(bytes(v[0:12])))
    time.sleep(0.05)' 2>/tmp/sealed.holder.log &
sealed_holder=$!
wait_for 15 test -e /tmp/sealed.ready
sealed_count() { shmview cat sealedseg:4096:8 | od -An -tu8 | tr -d ' '; }
# sealed_same: bytes, owner, mode, flags as created; the holder alive, its
# view the same memory as the daemon's (its count moves), nothing changed.
sealed_same() {
    shmview stat sealedseg >/tmp/sealed.stat && cat /tmp/sealed.stat &&
        grep -q '^owner: *nobody ' /tmp/sealed.stat && grep -q '^mode: *0640$' /tmp/sealed.stat &&
        grep -q '^sealed: *yes' /tmp/sealed.stat && grep -q '^size: *65536 ' /tmp/sealed.stat &&
        is "$(shmview cat sealedseg:0:12)" "sealed bytes" &&
        kill -0 "$sealed_holder" && test ! -e /tmp/sealed.bad &&
        a=$(sealed_count) && sleep 0.5 && b=$(sealed_count) && echo "holder's count $a -> $b" &&
        test "$a" != "$b"
}
check "the holder's writes show through the daemon's views" sealed_same
# (the holder is root: /proc/self/map_files gives it the memfd read-write)
check "a writable holder's ftruncate fails (EPERM), resize is refused, nothing changed" \
    sh -c '/usr/bin/python3 -c "
import ctypes, os, shmview, sys
v = shmview.connect().open(\"sealedseg\", writable=True)
a = ctypes.addressof(ctypes.c_char.from_buffer(v))
for l in open(\"/proc/self/maps\"):
    lo, hi = (int(x, 16) for x in l.split()[0].split(\"-\"))
    if lo <= a < hi:
        fd = os.open(\"/proc/self/map_files/%x-%x\" % (lo, hi), os.O_RDWR)
try:
    os.ftruncate(fd, 0)
except PermissionError as e:
    print(\"ftruncate:\", e)
    sys.exit(0)
sys.exit(1)" && ! shmview resize sealedseg 128K'
check "... and nothing changed" sealed_same
sealed_pid=$(prop MainPID)
check "systemctl restart shmviewd.service: the sealed segment comes back from the fd store" \
    sh -c "systemctl restart shmviewd.service && test \"\$(systemctl show -P MainPID shmviewd.service)\" != $sealed_pid"
check "... same bytes, owner, mode and flags; the holder keeps its view" sealed_same
restarts=$(prop NRestarts)
systemctl kill -s KILL shmviewd.service
check "kill -9: Restart=on-failure brings it back (NRestarts $restarts -> $(wait_for 30 restarted; prop NRestarts))" restarted
check "... the sealed segment too, from the store; the holder keeps its view" sealed_same
check "no sealed segment was dropped at a start (journal)" \
    sh -c '! journalctl -u shmviewd -o cat | grep -E "no descriptor of it came back|stored descriptor"'
# sealed_after_upgrade: the same after the package upgrade below.
sealed_after_upgrade() {
    check "after the upgrade: the sealed segment is back from the fd store, the holder keeps its view" \
        sealed_same
    kill "$sealed_holder"
    wait "$sealed_holder" 2>/dev/null
    check "shmview rm sealedseg takes it out of the store: nothing is passed back at a restart" \
        sh -c 'shmview rm sealedseg && ! shmview stat sealedseg && systemctl restart shmviewd.service &&
            shmview status && ! journalctl -u shmviewd -o cat |
            grep -E "no descriptor of it came back|stored descriptor named"'
}
# ---- sealed segments (end) ---------------------------------------------------

# ---- the user instance, with linger -----------------------------------------
useradd --create-home --uid 1500 --shell /bin/sh alice
loginctl enable-linger alice
user_up() { test -S /run/user/1500/systemd/private; }
as_alice() { runuser -u alice -- env XDG_RUNTIME_DIR=/run/user/1500 "$@"; }
check "loginctl enable-linger alice starts her systemd --user" wait_for 30 user_up
check "her shmviewd.socket is not enabled" \
    sh -c 'test "$(runuser -u alice -- env XDG_RUNTIME_DIR=/run/user/1500 systemctl --user is-enabled shmviewd.socket)" = disabled'
check "systemctl --user enable --now shmviewd.socket; shmview finds \$XDG_RUNTIME_DIR/shmview.sock" \
    sh -c 'runuser -u alice -- env XDG_RUNTIME_DIR=/run/user/1500 sh -c "
        systemctl --user enable --now shmviewd.socket &&
        shmview create mine 4K && printf mine | shmview write mine && shmview list"'
check "her daemon runs as alice, Type=notify running, objects /dev/shm/shmview-u1500.*" \
    sh -c 'upid=$(runuser -u alice -- env XDG_RUNTIME_DIR=/run/user/1500 systemctl --user show -P MainPID shmviewd.service) &&
        test "$(stat -c %U /proc/$upid)" = alice &&
        test "$(runuser -u alice -- env XDG_RUNTIME_DIR=/run/user/1500 systemctl --user show -P SubState shmviewd.service)" = running &&
        test -f /dev/shm/shmview-u1500.mine'
uexposure=$(as_alice systemd-analyze --user security shmviewd.service 2>/dev/null |
    sed -n 's/.*Overall exposure level for shmviewd.service: \([0-9.]*\).*/\1/p')
check "systemd-analyze --user security shmviewd.service: exposure $uexposure" test -n "$uexposure"
check "her segments survive a restart of her daemon" \
    sh -c 'runuser -u alice -- env XDG_RUNTIME_DIR=/run/user/1500 sh -c "
        systemctl --user restart shmviewd.service && test \"\$(shmview cat mine)\" = mine &&
        shmview rm mine && systemctl --user disable --now shmviewd.socket shmviewd.service"'
check "her daemon's prefix lock stays after its clean stop" \
    test -f /dev/shm/shmview-u1500..lock
loginctl disable-linger alice
wait_for 30 sh -c '! test -S /run/user/1500/systemd/private'
userdel --remove alice 2>/dev/null

# ---- containers: one daemon per tenant, shmviewd@NAME (docs/containers.md) --
# Two instances, alpha and beta: each its own socket (0666, in
# /run/shmview-NAME) and prefix (/dev/shm/shmview-t-NAME.*), so a segment
# of one is not in the other's list; per-tenant options from
# /etc/shmview/shmviewd@NAME.env; a stop of one leaves the other serving
# and keeps its own segments for its restart. Left for the purge below:
# beta's segment, both state directories and prefix locks.
tenants() {
    ta="shmview --socket /run/shmview-alpha/shmview.sock"
    tb="shmview --socket /run/shmview-beta/shmview.sock"
    # nobody, in no host group: what a remapped container uid is
    as_stranger() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
    printf 'SHMVIEWD_OPTIONS=--quota-bytes 1M\n' >/etc/shmview/shmviewd@beta.env
    check "systemctl start shmviewd@alpha.socket shmviewd@beta.socket" \
        systemctl start shmviewd@alpha.socket shmviewd@beta.socket
    check "systemd-analyze verify shmviewd@alpha.socket shmviewd@alpha.service" \
        sh -c 'out=$(systemd-analyze verify shmviewd@alpha.socket shmviewd@alpha.service 2>&1)
            echo "$out"; test -z "$out"'
    check "each tenant's socket is /run/shmview-NAME/shmview.sock, shmview:shmview 0666" \
        sh -c 'for t in alpha beta; do stat -c "%n %U:%G %a" /run/shmview-$t/shmview.sock
            test "$(stat -c "%U:%G %a" /run/shmview-$t/shmview.sock)" = "shmview:shmview 666" ||
            exit 1; done'
    check "a user in no group of the host (nobody) creates a 0600 segment through alpha" \
        as_stranger sh -c "$ta create a-secret 64K --mode 0600 && printf alpha | $ta write a-secret"
    check "... and one through beta" as_stranger sh -c "$tb create b-own 64K"
    check "each instance runs as shmview, its directory made shmview's (RuntimeDirectory=)" \
        sh -c 'for t in alpha beta; do p=$(systemctl show -P MainPID shmviewd@$t.service)
            test "$(stat -c %U /proc/$p)" = shmview &&
            test "$(stat -c "%U %a" /run/shmview-$t)" = "shmview 755" || exit 1; done'
    check "distinct prefixes in /dev/shm: shmview-t-alpha.a-secret, shmview-t-beta.b-own" \
        sh -c 'ls -l /dev/shm; test -f /dev/shm/shmview-t-alpha.a-secret &&
            test -f /dev/shm/shmview-t-beta.b-own && test ! -e /dev/shm/shmview-t-beta.a-secret &&
            test ! -e /dev/shm/shmview.a-secret'
    check "tenant beta's shmview list does not show alpha's segment (nor alpha beta's)" \
        sh -c "$tb list; $ta list; ! $tb list | grep -q a-secret && ! $ta list | grep -q b-own &&
            $tb list | grep -q b-own"
    check "... nor does the system daemon's" sh -c '! shmview list | grep -q -e a-secret -e b-own'
    check "per-tenant options: beta's --quota-bytes 1M (shmviewd@beta.env) refuses 2M, alpha takes it" \
        sh -c "out=\$(setpriv --reuid=nobody --regid=nogroup --clear-groups $tb create big 2M 2>&1)
            rc=\$?; echo \"\$out\"; test \$rc -ne 0 && echo \"\$out\" | grep -q 'quota' &&
            setpriv --reuid=nobody --regid=nogroup --clear-groups $ta create big 2M && $ta rm big"
    check "the socket-activated instance is trusted by a user in no group (peer: systemd, root)" \
        as_stranger sh -c "$ta cat a-secret | grep -qx alpha"
    check "stopping alpha: its socket goes, beta serves on" \
        sh -c "systemctl stop shmviewd@alpha.socket shmviewd@alpha.service &&
            test ! -e /run/shmview-alpha/shmview.sock && $tb list | grep -q b-own"
    check "... alpha's segments wait for its restart and come back with their bytes" \
        sh -c "test -f /dev/shm/shmview-t-alpha.a-secret && systemctl start shmviewd@alpha.socket &&
            $ta cat a-secret | grep -qx alpha"
    check "each stop cleans its own: alpha's segment removed through alpha, beta's untouched" \
        sh -c "$ta rm a-secret && systemctl stop shmviewd@alpha.socket shmviewd@alpha.service &&
            ! ls /dev/shm | grep '^shmview-t-alpha\.' | grep -vx 'shmview-t-alpha\.\.lock' &&
            test -f /dev/shm/shmview-t-beta.b-own"
    check "beta still runs when the packages are removed (their prerm stops it)" \
        systemctl is-active shmviewd@beta.service
    rm -f /etc/shmview/shmviewd@beta.env
}
tenants

# ---- upgrade: same segments, new daemon ------------------------------------
mkdir -p /tmp/up
dpkg-deb -R /tmp/debs/shmviewd_*_"$arch".deb /tmp/up/pkg
old=$(dpkg-deb -f /tmp/debs/shmviewd_*_"$arch".deb Version)
sed -i "s/^Version: .*/Version: $old+upgradetest/" /tmp/up/pkg/DEBIAN/control
dpkg-deb -b /tmp/up/pkg "/tmp/up/shmviewd_${old}+upgradetest_$arch.deb" >/dev/null
pid=$(prop MainPID)
check "upgrade to $old+upgradetest (apt-get install ./shmviewd_...deb)" \
    sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/up/shmviewd_${old}+upgradetest_$arch.deb"
check "after the upgrade: the socket listens, the old daemon is gone" \
    sh -c "systemctl is-active shmviewd.socket && test \"\$(systemctl show -P MainPID shmviewd.service)\" != $pid"
check "the upgraded daemon re-adopts the segments with their bytes" same_data
check "... owner and mode kept" \
    sh -c 'shmview stat frames | tee /dev/stderr | grep -q 0644'
sealed_after_upgrade

# ---- purge: the state directory goes, held segments stay ------------------
shmview create held 4K
shmview create mapped 4K
sleep 600 3</dev/shm/shmview.held &
holder1=$!
python3 -c '
import mmap, os, time
fd = os.open("/dev/shm/shmview.mapped", os.O_RDONLY)
m = mmap.mmap(fd, 4096, prot=mmap.PROT_READ)
os.close(fd)
open("/tmp/mapped.ready", "w").close()
time.sleep(600)' &
holder2=$!
wait_for 10 test -e /tmp/mapped.ready
# (the upgrade removed shmviewd-dbgsym, which wanted the old shmviewd)
installed=$(for p in $pkgs; do dpkg-query -W -f='${db:Status-Status} ${Package}\n' "$p" 2>/dev/null; done |
    awk '$1 == "installed" { print $2 }' | tr '\n' ' ')
check "apt-get purge $installed" \
    sh -c "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $installed"
check "the daemon and its socket are gone" \
    sh -c '! systemctl is-active shmviewd.socket && ! systemctl is-active shmviewd.service &&
        test ! -e /run/shmview && test ! -e /etc/shmview'
check "segments nobody holds are removed (frames, spare)" \
    sh -c 'test ! -e /dev/shm/shmview.frames && test ! -e /dev/shm/shmview.spare'
check "so are the prefix locks: the system daemon's and alice's instance's" \
    sh -c 'test ! -e /dev/shm/shmview..lock && test ! -e /dev/shm/shmview-u1500..lock'
check "segments still open or mapped stay (held: an fd; mapped: a mapping)" \
    sh -c 'test -e /dev/shm/shmview.held && test -e /dev/shm/shmview.mapped'
kill "$holder1" "$holder2"
wait "$holder1" "$holder2" 2>/dev/null
rm -f /dev/shm/shmview.held /dev/shm/shmview.mapped
snapshot_filtered >/tmp/files.after
check "after the purge (and removing what the checks made), the file list is the one before" \
    diff -u /tmp/files.before /tmp/files.after

finish
