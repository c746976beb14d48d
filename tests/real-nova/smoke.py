#!/usr/bin/python3
"""End-to-end check of a running stack (start.sh), through the real APIs only:

  1. log in to the Keystone stub with a password; list compute services through the catalog's
     compute URL with the returned token
  2. boot COUNT servers on the failing host (default hostA) and wait for ACTIVE
  3. compute.sh kill the host, force its service down, evacuate one server, wait until it is
     ACTIVE on another host (timed)
  4. compute.sh start the host, wait for the evacuation migration to become "completed",
     un-force the service
  5. delete the servers

usage: BASE=/tmp/evacd-nova tests/real-nova/smoke.py [--host hostA] [--count 2]
Exit status 0 when every step passed."""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = time.time()


def say(msg):
    print("[%6.1fs] %s" % (time.time() - T0, msg), flush=True)


def load_env(base):
    env = {}
    with open(os.path.join(base, "env")) as f:
        for line in f:
            if line.startswith("export "):
                k, _, v = line[7:].strip().partition("=")
                env[k] = v.strip("'\"")
    return env


class Api:
    def __init__(self, url, token="admin:admin"):
        self.url, self.token = url.rstrip("/"), token

    def call(self, method, path, body=None, ok=(200, 201, 202, 204)):
        req = urllib.request.Request(
            self.url + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"X-Auth-Token": self.token, "Content-Type": "application/json",
                     "OpenStack-API-Version": "compute 2.93"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                raw, code = r.read(), r.status
        except urllib.error.HTTPError as e:
            raw, code = e.read(), e.code
        if code not in ok:
            raise RuntimeError("%s %s -> HTTP %d %s" % (method, path, code, raw[:400]))
        return code, (json.loads(raw) if raw else None)

    def get(self, path):
        return self.call("GET", path)[1]


def wait(what, check, timeout=180, every=0.25):
    end = time.time() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.time() > end:
            raise RuntimeError("timed out after %ds waiting for %s" % (timeout, what))
        time.sleep(every)


def keystone_login(keystone_url):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "password": "admin", "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    req = urllib.request.Request(keystone_url + "/auth/tokens", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        token = r.headers["X-Subject-Token"]
        catalog = json.load(r)["token"]["catalog"]
    compute = next(e["url"] for s in catalog if s["type"] == "compute"
                   for e in s["endpoints"] if e["interface"] == "public")
    return token, compute


def compute_sh(base, *args):
    subprocess.run([os.path.join(HERE, "compute.sh")] + list(args), check=True,
                   env=dict(os.environ, BASE=base))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="hostA")
    ap.add_argument("--count", type=int, default=2)
    args = ap.parse_args()
    base = os.environ.get("BASE", "/tmp/evacd-nova")
    env = load_env(base)
    nova = Api(env["NOVA_URL"])
    host = args.host

    token, compute_url = keystone_login(env["KEYSTONE_URL"])
    services = Api(compute_url, token).get("/os-services?binary=nova-compute")["services"]
    say("keystone login: token %r, catalog compute %s, %d compute services: %s" % (
        token, compute_url, len(services),
        " ".join("%s=%s" % (s["host"], s["state"]) for s in services)))

    name = "smoke-%d" % int(T0)
    t = time.time()
    nova.call("POST", "/servers", {"server": {
        "name": name, "imageRef": env["IMAGE_ID"], "flavorRef": "1", "networks": "none",
        "host": host, "min_count": args.count, "max_count": args.count}})

    def mine():
        return [s for s in nova.get("/servers/detail?all_tenants=1&name=%s" % name)["servers"]]

    def all_active():
        ss = mine()
        if any(s["status"] == "ERROR" for s in ss):
            raise RuntimeError("a server went to ERROR: %s" % ss)
        return ss if len(ss) == args.count and all(s["status"] == "ACTIVE" for s in ss) else None
    servers = wait("%d servers ACTIVE" % args.count, all_active)
    assert all(s["OS-EXT-SRV-ATTR:host"] == host for s in servers), servers
    say("%d servers ACTIVE on %s in %.1fs" % (args.count, host, time.time() - t))

    compute_sh(base, "kill", host)
    sid = nova.get("/os-services?binary=nova-compute&host=%s" % host)["services"][0]["id"]
    nova.call("PUT", "/os-services/%s" % sid, {"forced_down": True})
    victim = servers[0]["id"]
    t = time.time()
    nova.call("POST", "/servers/%s/action" % victim, {"evacuate": {}})

    def moved():
        s = nova.get("/servers/%s" % victim)["server"]
        if s["status"] == "ERROR":
            raise RuntimeError("evacuated server went to ERROR: %s" % s.get("fault"))
        ok = (s["status"] == "ACTIVE" and s["OS-EXT-STS:task_state"] is None
              and s["OS-EXT-SRV-ATTR:host"] != host)
        return s if ok else None
    s = wait("the evacuated server ACTIVE elsewhere", moved)
    evac_s = time.time() - t
    say("evacuated %s: ACTIVE on %s after %.2fs" % (victim, s["OS-EXT-SRV-ATTR:host"], evac_s))

    compute_sh(base, "start", host)
    t = time.time()

    def migration_status():
        ms = nova.get("/os-migrations?instance_uuid=%s&migration_type=evacuation" % victim)["migrations"]
        return ms[0]["status"] if ms else None
    wait("the evacuation migration 'completed'", lambda: migration_status() == "completed",
         timeout=240, every=0.5)
    say("%s restarted: migration completed after %.1fs" % (host, time.time() - t))

    def unforce():
        code, _ = nova.call("PUT", "/os-services/%s" % sid, {"forced_down": False}, ok=(200, 400))
        return code == 200
    wait("un-forcing %s" % host, unforce, timeout=120, every=0.5)
    wait("%s up" % host, lambda: nova.get("/os-services?binary=nova-compute&host=%s" % host)
         ["services"][0]["state"] == "up", timeout=120, every=0.5)

    for s in servers:
        nova.call("DELETE", "/servers/%s" % s["id"])
    wait("servers deleted", lambda: not mine(), timeout=120, every=0.5)
    say("servers deleted; smoke test passed (one evacuation: %.2fs)" % evac_s)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001
        say("FAILED: %s" % e)
        sys.exit(1)
