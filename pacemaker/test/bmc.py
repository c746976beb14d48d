#!/usr/bin/python3
"""Fake BMC of the namespace test cluster, serving in the root namespaces on a pathname unix
socket (reachable from every network namespace of the cluster).

One request per connection, one line: "off NODE" kills the pid namespace of NODE (SIGKILL to
its init: a power cut), "on NODE" starts NODE again unless it runs, "status NODE" answers on
or off. Every request is logged with its time to $EVPM_ROOT/cluster/bmc.log.

usage: bmc.py serve           (cluster.sh starts it; stopped by its PID)
       bmc.py start NODE      (boot NODE once; cluster.sh uses it)
"""
import os
import signal
import socket
import subprocess
import sys
import time

ROOT = os.environ.get("EVPM_ROOT", "/tmp/evpm")
CLUSTER = os.path.join(ROOT, "cluster")
SOCKET = os.path.join(CLUSTER, "bmc.sock")
HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = os.environ.get("EVPM_NS_PREFIX", "evpm-")


def node_file(node, name):
    return os.path.join(CLUSTER, node, name)


def init_pid(node):
    """The node's PID 1 (as seen from here): the child of the unshare process we started."""
    try:
        with open(node_file(node, "unshare.pid")) as f:
            unshare = f.read().strip()
        out = subprocess.run(["pgrep", "-P", unshare], capture_output=True, text=True, check=False).stdout.split()
        return int(out[0]) if out else None
    except (OSError, ValueError):
        return None


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def start(node):
    with open(node_file(node, "role")) as f:
        role = f.read().strip()
    out = open(node_file(node, "init.out"), "a")
    env = dict(os.environ, EVPM_ROOT=ROOT)
    process = subprocess.Popen(
        ["ip", "netns", "exec", PREFIX + node,
         "unshare", "--mount", "--uts", "--pid", "--fork", "--mount-proc",
         os.path.join(HERE, "node-init.sh"), node, role],
        stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env, start_new_session=True)
    with open(node_file(node, "unshare.pid"), "w") as f:
        f.write(str(process.pid))
    return wait_for(lambda: init_pid(node) is not None, 5)


def handle(command, node):
    if not os.path.isfile(node_file(node, "role")):
        return "error unknown node"
    pid = init_pid(node)
    if command == "status":
        return "on" if pid else "off"
    if command == "off":
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return "off" if wait_for(lambda: init_pid(node) is None, 10) else "error still running"
    if command == "on":
        if pid:
            return "ok"
        if not os.path.exists(node_file(node, "autostart")):
            return "error no autostart"
        return "ok" if start(node) else "error did not start"
    return "error unknown command"


def serve():
    if os.path.exists(SOCKET):
        os.unlink(SOCKET)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(SOCKET)
    os.chmod(SOCKET, 0o666)
    server.listen(16)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # the unshare processes of restarted nodes
    while True:
        connection, _ = server.accept()
        with connection:
            words = connection.makefile().readline().split()
            answer = handle(*words) if len(words) == 2 else "error usage"
            with open(os.path.join(CLUSTER, "bmc.log"), "a") as log:
                log.write("%.3f %s -> %s\n" % (time.time(), " ".join(words), answer))
            connection.sendall((answer + "\n").encode())


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "start":
        sys.exit(0 if start(sys.argv[2]) else 1)
    if len(sys.argv) == 2 and sys.argv[1] == "serve":
        serve()
    sys.stderr.write(__doc__)
    sys.exit(2)
