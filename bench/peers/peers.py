#!/usr/bin/python3
"""Peers, side by side: one host failure with N servers, recovered by each tool in turn,
on the real Nova of tests/real-nova. Started by scripts/peers-bench.sh (which brings up the
stack, etcd and three `evacuationd serve`); Python 3 standard library only.

Per (tool, N, repetition):
  1. hostA/B/C up, enabled, not forced down, no servers (leftovers deleted)
  2. boot N servers on hostA (one request, min_count = max_count = N), wait ACTIVE
  3. t0: `compute.sh kill hostA` returned (nova-compute SIGKILLed: the fence instant)
  4. the tool is triggered (in a thread, so that the clock and the poll start at t0):
       evacuationd       evacctl fence hostA --confirm-powered-off (3 daemons, etcd)
       masakari-default  POST a COMPUTE_HOST STOPPED notification (Masakari's defaults:
                         it disables the service and sleeps 180 s, then evacuates)
       masakari-2s       force-down first, then the same notification; Masakari's
                         wait_period_after_service_update cut to 2 s
       fence-agents      fence_compute -o off, then fence_evacuate -o off (Debian's agents)
       bare              force down, then every evacuate POST at once (the floor)
  5. Nova is polled every 0.2 s until every server is ACTIVE with task_state null on another
     host (the makespan), or every server is settled (that or ERROR) and the tool says it
     ended, or the deadline passes
  6. what the tool reports, the evacuation migrations per server (more than one: duplicate)
  7. hostA back: nova-compute started, the tool's own release where it has one (evacctl
     release-host; Masakari's maintenance flag off), forced_down false (retried while Nova
     answers 400), enabled, up; the servers deleted

Results: one JSON line per run in --results, and a Markdown report (--report)."""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HOSTS = ["hostA", "hostB", "hostC"]
FAILED = "hostA"
MV = "2.93"
TOOLS = ["evacuationd", "masakari-default", "masakari-2s", "fence-agents", "bare", "evacuationd-tuned"]
T_START = time.time()


def say(msg):
    print("[%7.1fs] %s" % (time.time() - T_START, msg), flush=True)


def load_env(base):
    env = {}
    with open(os.path.join(base, "env")) as f:
        for line in f:
            if line.startswith("export "):
                k, _, v = line[7:].strip().partition("=")
                env[k] = v.strip("'\"")
    return env


class HttpError(Exception):
    def __init__(self, method, url, code, body):
        super().__init__("%s %s -> HTTP %s %s" % (method, url, code, body[:300]))
        self.code = code
        self.body = body


class Api:
    def __init__(self, url, headers):
        self.url = url.rstrip("/")
        self.headers = headers

    def call(self, method, path, body=None, timeout=60):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers=dict(self.headers, **{"Content-Type": "application/json"}))
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw, code = r.read(), r.status
        except urllib.error.HTTPError as e:
            raise HttpError(method, path, e.code, e.read().decode(errors="replace"))
        return code, (json.loads(raw) if raw else None)

    def get(self, path):
        return self.call("GET", path)[1]


class Bench:
    def __init__(self, a):
        self.a = a
        self.env = load_env(a.base)
        self.nova = Api(self.env["NOVA_URL"], {"X-Auth-Token": "admin:admin",
                                               "OpenStack-API-Version": "compute " + MV})
        self.masakari = Api(self.env["MASAKARI_URL"], {"X-Auth-Token": "admin:admin"})
        self.rn = a.real_nova
        self.sub_env = dict(os.environ, BASE=a.base)
        self.segment = None
        self.masakari_variant = None
        self.run_no = 0

    # --- small helpers ------------------------------------------------------------------
    def sh(self, *cmd, timeout=300, check=True):
        p = subprocess.run(list(cmd), env=self.sub_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("%s -> exit %d: %s" % (" ".join(cmd), p.returncode, p.stdout[-800:]))
        return p

    def compute(self, action, host, check=True):
        return self.sh(os.path.join(self.rn, "compute.sh"), action, host, check=check)

    def evacctl(self, *args, timeout=60, tool="evacuationd"):
        servers = self.a.tuned_servers if tool == "evacuationd-tuned" else self.a.evacd_servers
        cmd = list(self.a.evacctl.split()) + list(args) + ["--server", servers]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def service(self, host):
        return self.nova.get("/os-services?binary=nova-compute&host=" + host)["services"][0]

    def servers(self, host=None):
        q = "/servers/detail?all_tenants=1&limit=1000" + ("&host=" + host if host else "")
        return self.nova.get(q)["servers"]

    # --- 1. healthy, empty --------------------------------------------------------------
    def prepare(self):
        for h in HOSTS:
            if self.compute("pid", h, check=False).returncode != 0:
                say("  %s's nova-compute was not running: starting it" % h)
                self.compute("start", h)
            self.restore_service(h)
        self.delete_all()

    def restore_service(self, host, deadline_s=180):
        """forced_down false (Nova answers 400 until the restarted compute cleaned up its
        `done` evacuations: retried), enabled, then wait until up."""
        end = time.time() + deadline_s
        s = self.service(host)
        refused = 0
        while s["forced_down"]:
            try:
                s = self.nova.call("PUT", "/os-services/" + s["id"], {"forced_down": False})[1]["service"]
            except HttpError as e:
                if e.code != 400 or time.time() > end:
                    raise
                refused += 1
                time.sleep(0.5)
        if s["status"] != "enabled":
            s = self.nova.call("PUT", "/os-services/" + s["id"], {"status": "enabled"})[1]["service"]
        while True:
            s = self.service(host)
            if s["state"] == "up" and s["status"] == "enabled" and not s["forced_down"]:
                return refused
            if time.time() > end:
                raise RuntimeError("%s did not come back up: %s" % (host, s))
            time.sleep(0.5)

    def delete_all(self):
        ss = self.servers()
        for s in ss:
            try:
                self.nova.call("DELETE", "/servers/" + s["id"])
            except HttpError as e:
                if e.code == 409:  # e.g. still rebuilding: reset, then delete
                    self.nova.call("POST", "/servers/%s/action" % s["id"], {"os-resetState": {"state": "error"}})
                    self.nova.call("DELETE", "/servers/" + s["id"])
                elif e.code != 404:
                    raise
        end = time.time() + 180
        while self.servers():
            if time.time() > end:
                raise RuntimeError("servers not deleted within 180 s")
            time.sleep(0.5)
        return len(ss)

    # --- 2. boot ------------------------------------------------------------------------
    def boot(self, n, name):
        """N servers on hostA. A host that was disabled while its nova-compute was down keeps
        Placement's COMPUTE_STATUS_DISABLED trait after it is enabled again until its compute
        syncs it (a periodic task, up to a minute): the boot then fails NoValidHost, in cell0
        (no host). Any ERROR: clean up, wait, boot again."""
        for attempt in range(8):
            self.nova.call("POST", "/servers", {"server": {
                "name": name, "imageRef": self.env.get("IMAGE_ID", "11111111-2222-3333-4444-555555555555"),
                "flavorRef": "1", "networks": "none", "host": FAILED, "min_count": n, "max_count": n}})
            end = time.time() + 300
            fault = "timed out"
            while time.time() < end:
                ss = self.servers()  # every server: a failed boot has no host
                bad = [s for s in ss if s["status"] == "ERROR"]
                if bad:
                    fault = ((bad[0].get("fault") or {}).get("message") or "ERROR")[:120]
                    break
                mine = [s for s in ss if s["OS-EXT-SRV-ATTR:host"] == FAILED]
                if len(mine) >= n and all(s["status"] == "ACTIVE" and s["OS-EXT-STS:task_state"] is None for s in mine):
                    return [s["id"] for s in mine]
                time.sleep(0.5)
            say("  boot of %d on %s failed (attempt %d: %s): cleaning up, again in 10 s" % (n, FAILED, attempt + 1, fault))
            self.delete_all()
            time.sleep(10)
        raise RuntimeError("could not boot %d servers on %s" % (n, FAILED))

    # --- masakari -------------------------------------------------------------------------
    def masakari_start(self, variant):
        if self.masakari_variant == variant:
            return
        env = dict(self.sub_env)
        if variant == "masakari-default":
            # Masakari 14's own defaults (masakari.sh's are shorter for tests)
            env.update(MASAKARI_WAIT="180", MASAKARI_EVACUATION_WAIT="90", MASAKARI_DUPLICATE_INTERVAL="180")
        else:
            # only the service wait is cut; the duplicate window must be shorter than the
            # time between two repetitions or the next notification for hostA is refused (409)
            env.update(MASAKARI_WAIT="2", MASAKARI_EVACUATION_WAIT="90", MASAKARI_DUPLICATE_INTERVAL="5")
        say("starting masakari for %s (wait_period_after_service_update=%s)" % (variant, env["MASAKARI_WAIT"]))
        p = subprocess.run([os.path.join(self.rn, "masakari.sh"), "start"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=300)
        if p.returncode != 0:
            raise RuntimeError("masakari.sh start failed: " + p.stdout[-1500:])
        self.masakari_variant = variant
        self.segment = self.masakari_segment()

    def masakari_stop(self):
        if self.masakari_variant:
            subprocess.run([os.path.join(self.rn, "masakari.sh"), "stop"], env=self.sub_env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
            self.masakari_variant = None

    def masakari_segment(self):
        segs = self.masakari.get("/segments")["segments"]
        seg = next((s["uuid"] for s in segs if s["name"] == "peers-bench"), None)
        if seg is None:
            seg = self.masakari.call("POST", "/segments", {"segment": {
                "name": "peers-bench", "recovery_method": "auto", "service_type": "COMPUTE"}})[1]["segment"]["uuid"]
        have = {h["name"] for h in self.masakari.get("/segments/%s/hosts" % seg)["hosts"]}
        for h in HOSTS:
            if h not in have:
                self.masakari.call("POST", "/segments/%s/hosts" % seg, {"host": {
                    "name": h, "type": "COMPUTE", "control_attributes": "SSH"}})
        return seg

    def masakari_last_notification(self):
        """When the newest notification of hostA was generated (epoch seconds; 0: none)."""
        uuid = next((h["uuid"] for h in self.masakari.get("/segments/%s/hosts" % self.segment)["hosts"]
                     if h["name"] == FAILED), None)
        last = 0.0
        for n in self.masakari.get("/notifications")["notifications"]:
            if n.get("source_host_uuid") == uuid and n.get("generated_time"):
                t = datetime.datetime.strptime(n["generated_time"][:19], "%Y-%m-%dT%H:%M:%S")
                last = max(last, t.replace(tzinfo=datetime.timezone.utc).timestamp())
        return last

    def masakari_unmaintain(self):
        for h in self.masakari.get("/segments/%s/hosts" % self.segment)["hosts"]:
            if h["on_maintenance"]:
                self.masakari.call("PUT", "/segments/%s/hosts/%s" % (self.segment, h["uuid"]),
                                   {"host": {"on_maintenance": False}})

    # --- 4. triggers (run in a thread; they fill `rep`) ------------------------------------
    def force_down(self, host):
        sid = self.service(host)["id"]
        self.nova.call("PUT", "/os-services/" + sid, {"forced_down": True})

    def trigger(self, tool, t0, rep):
        try:
            if tool.startswith("evacuationd"):
                code, out, err = self.evacctl("fence", FAILED, "--confirm-powered-off", "--reason", "peers-bench", tool=tool)
                rep["trigger_s"] = time.time() - t0
                rep["fence_exit"] = code
                rep["fence_output"] = (out + err).strip()
            elif tool.startswith("masakari"):
                if tool == "masakari-2s":
                    self.force_down(FAILED)
                now = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S")
                d = self.masakari.call("POST", "/notifications", {"notification": {
                    "type": "COMPUTE_HOST", "generated_time": now, "hostname": FAILED,
                    "payload": {"event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"}}})[1]
                rep["trigger_s"] = time.time() - t0
                rep["notification"] = d["notification"]["notification_uuid"]
                # Masakari's own view of the end: the notification's status
                while time.time() - t0 < self.a.deadline_for(tool) + 60:
                    st = self.masakari.get("/notifications/" + rep["notification"])["notification"]["status"]
                    if st in ("finished", "error", "failed", "ignored"):
                        rep["tool_done_s"] = time.time() - t0
                        break
                    time.sleep(0.5)
                rep["notification_status"] = st
            elif tool == "fence-agents":
                args = ["--auth-url", self.env["KEYSTONE_URL"], "--username", "admin", "--password", "admin",
                        "--tenant-name", "admin", "--user-domain", "Default", "--project-domain", "Default",
                        "-n", FAILED, "-o", "off", "--no-shared-storage"]
                agent = os.path.join(self.rn, "fence-agent.sh")
                for name in ("fence_compute", "fence_evacuate"):
                    p = subprocess.run([agent, name] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, timeout=600)
                    rep[name + "_exit"] = p.returncode
                    rep[name + "_output"] = p.stdout.strip()[-600:]
                    rep[name + "_s"] = time.time() - t0
                    if p.returncode != 0:
                        break
                rep["trigger_s"] = rep.get("fence_evacuate_s")
                rep["tool_done_s"] = rep.get("fence_evacuate_s")
            elif tool == "bare":
                self.force_down(FAILED)
                ids = [s["id"] for s in self.servers(FAILED)]
                errs = []

                sent = rep["sent"] = {}

                def evac(i):
                    try:
                        sent[i] = time.time() - t0
                        self.nova.call("POST", "/servers/%s/action" % i, {"evacuate": {}})
                    except Exception as e:  # noqa: BLE001 - counted and reported
                        errs.append(str(e))
                ths = [threading.Thread(target=evac, args=(i,)) for i in ids]
                for th in ths:
                    th.start()
                for th in ths:
                    th.join()
                rep["trigger_s"] = time.time() - t0
                rep["tool_done_s"] = rep["trigger_s"]
                rep["accepted"] = len(ids) - len(errs)
                rep["first_sent_s"] = min(sent.values()) if sent else None
                rep["listed"] = len(ids)
                rep["evacuate_errors"] = errs[:3]
        except Exception as e:  # noqa: BLE001 - the run records it
            rep["trigger_error"] = str(e)[:500]
        finally:
            rep["trigger_ended"] = True

    # --- one run ------------------------------------------------------------------------
    def run(self, tool, n, rep_no):
        self.run_no += 1
        say("%s N=%d rep %d: preparing" % (tool, n, rep_no))
        if tool.startswith("masakari"):
            self.masakari_start(tool)
            self.masakari_unmaintain()
        self.prepare()
        if tool.startswith("masakari"):
            # Masakari refuses (409) a notification of the same host, type and payload generated
            # within duplicate_notification_detection_interval (180 s by default) of another one
            window = 180 if tool == "masakari-default" else 5
            wait = window + 2 - (time.time() - self.masakari_last_notification())
            if wait > 0:
                say("  waiting %.0f s: Masakari's duplicate window (%d s) since hostA's last notification" % (wait, window))
                time.sleep(wait)
        ids = self.boot(n, "peers-%s-%d" % (tool, self.run_no))
        time.sleep(1.0)  # let the boot's last periodic updates pass
        load = open("/proc/loadavg").read().split()[0]
        rep = {"tool": tool, "n": n, "rep": rep_no, "load1": float(load)}
        cpu0 = self.cpu_sample()
        api_log = os.path.join(self.a.base, "logs", "nova-api.log")
        api_offset = os.path.getsize(api_log) if os.path.exists(api_log) else 0
        self.compute("kill", FAILED)
        t0 = time.time()
        rep["t0"] = t0
        th = threading.Thread(target=self.trigger, args=(tool, t0, rep), daemon=True)
        th.start()

        # --- 5. poll Nova every 0.2 s. After one full listing only what changed since the
        # previous poll (changes-since, 2 s of margin: updated_at has whole seconds), so
        # that the observer loads Nova's single API worker as little as it can.
        deadline = self.a.deadline_for(tool)
        done, err, state = {}, {}, {}
        idset = set(ids)
        since = None
        polls = 0
        while True:
            now = time.time()
            try:
                q = "" if since is None else "&changes-since=" + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since - 2))
                ss = [s for s in self.nova.get("/servers/detail?all_tenants=1&limit=1000" + q)["servers"] if s["id"] in idset]
            except Exception as e:  # noqa: BLE001 - a slow API answer: try again
                say("  poll failed: %s" % e)
                time.sleep(0.2)
                continue
            polls += 1
            seen = time.time()
            if since is None:
                state = {}
            since = now
            for s in ss:
                state[s["id"]] = (s["status"], s["OS-EXT-STS:task_state"], s["OS-EXT-SRV-ATTR:host"])
            for i, (status, task, host) in state.items():
                if status == "ACTIVE" and task is None and host not in (FAILED, None):
                    done.setdefault(i, (seen - t0, host))
                    err.pop(i, None)
                elif status == "ERROR" and task is None:
                    done.pop(i, None)
                    err.setdefault(i, seen - t0)
                else:
                    done.pop(i, None)
                    err.pop(i, None)
            if len(done) + len(err) == n and q:
                since = None  # looks finished: confirm with a full listing
                continue
            if len(done) == n:
                rep["makespan_s"] = max(dt for dt, _ in done.values())
                rep["outcome"] = "all ACTIVE elsewhere"
                break
            if len(done) + len(err) == n and self.tool_ended(tool, rep):
                rep["makespan_s"] = max([dt for dt, _ in done.values()] + list(err.values()))
                rep["outcome"] = "settled with %d ERROR" % len(err)
                break
            failed = self.trigger_failed(rep)
            if failed and not done and now - t0 > 20:
                rep["makespan_s"] = None
                rep["outcome"] = "the tool failed: %s" % failed[:200]
                break
            if now - t0 > deadline:
                rep["makespan_s"] = None
                rep["outcome"] = "deadline %ds: %d ACTIVE elsewhere, %d ERROR" % (deadline, len(done), len(err))
                break
            time.sleep(max(0.0, 0.2 - (time.time() - now)))
        rep["polls"] = polls
        rep["active_elsewhere"] = len(done)
        rep["first_active_s"] = min((dt for dt, _ in done.values()), default=None)
        rep["median_active_s"] = statistics.median([dt for dt, _ in done.values()]) if done else None
        hosts = {}
        for _, h in done.values():
            hosts[h] = hosts.get(h, 0) + 1
        rep["placement"] = hosts
        say("  %s" % rep["outcome"] + (" in %.2f s" % rep["makespan_s"] if rep["makespan_s"] is not None else ""))

        cpu1 = self.cpu_sample()
        span = time.time() - t0
        rep["cpu_s"] = {k: round(cpu1[k] - cpu0.get(k, 0.0), 1) for k in sorted(cpu1) if cpu1[k] - cpu0.get(k, 0.0) >= 0.05}
        rep["cpu_window_s"] = round(span, 1)
        if rep.get("makespan_s"):
            rep["nova_api"] = self.api_requests(api_log, api_offset, t0, t0 + rep["makespan_s"])
        # --- 6. what the tool reports
        self.tool_report(tool, rep, th, t0)
        final = {s["id"]: s for s in self.servers() if s["id"] in idset}
        rep["error_servers"] = sum(1 for s in final.values() if s["status"] == "ERROR")
        rep["final_states"] = sorted({"%s/%s" % (s["status"], s["OS-EXT-STS:task_state"]) for s in final.values()})

        # --- 7. hostA back, then count the evacuations (late duplicates included)
        t = time.time()
        self.compute("start", FAILED)
        if tool.startswith("evacuationd"):
            code, out, errout = self.evacctl("release-host", FAILED, "--reason", "peers-bench", timeout=90, tool=tool)
            rep["release_exit"] = code
            rep["release_output"] = (out + errout).strip().splitlines()[0] if (out + errout).strip() else ""
        if tool.startswith("masakari"):
            self.masakari_unmaintain()
        rep["force_up_refusals"] = self.restore_service(FAILED)
        rep["restore_s"] = time.time() - t
        migs = self.migrations(idset)
        per = {}
        for m in migs:
            per.setdefault(m["instance_uuid"], []).append(m["status"])
        rep["evacuations"] = sum(len(v) for v in per.values())
        rep["duplicates"] = sum(1 for v in per.values() if len(v) > 1)
        rep["not_evacuated"] = n - len(per)
        st = {}
        for v in per.values():
            for s in v:
                st[s] = st.get(s, 0) + 1
        rep["migration_status"] = st
        if tool.startswith("evacuationd"):
            rep["daemon"] = self.daemon_analysis(t0, ids, done, self.a.tuned_logs if tool == "evacuationd-tuned" else self.a.daemon_logs)
            sent = rep["daemon"].pop("sent", {})
        else:
            sent = rep.pop("sent", {})
        # how long Nova took per server, from the evacuate call to ACTIVE elsewhere (our poll)
        c2a = [done[u][0] - sent[u] for u in sent if u in done]
        if c2a:
            rep["call_to_active_s"] = {"min": min(c2a), "median": statistics.median(c2a), "max": max(c2a)}
        self.delete_all()
        say("  ERROR %d, evacuations %d (%d servers with more than one), report: %s"
            % (rep["error_servers"], rep["evacuations"], rep["duplicates"], rep.get("report")))
        return rep

    @staticmethod
    def trigger_failed(rep):
        """What went wrong when the trigger itself failed (nothing will happen), else None."""
        if not rep.get("trigger_ended"):
            return None
        if rep.get("trigger_error"):
            return rep["trigger_error"]
        for k in ("fence_exit", "fence_compute_exit"):
            if rep.get(k) not in (None, 0):
                return "%s %s: %s" % (k, rep[k], (rep.get(k.replace("exit", "output")) or "")[-200:])
        return None

    def tool_ended(self, tool, rep):
        """Whether the tool itself has finished (used only when some server is in ERROR)."""
        if tool.startswith("evacuationd"):
            code, out, _ = self.evacctl("hosts", "-o", "json", timeout=30, tool=tool)
            try:
                return any(h.get("name") == FAILED and h.get("stateName", h.get("state")) in ("done", "failed", "HOST_STATE_DONE", "HOST_STATE_FAILED")
                           for h in json.loads(out))
            except ValueError:
                return False
        return rep.get("trigger_ended", False)

    def tool_report(self, tool, rep, th, t0):
        if tool.startswith("evacuationd"):
            # the daemons' own end: wait (bounded) for the host's fencing to be terminal
            end = time.time() + 60
            while True:
                code, out, errout = self.evacctl("hosts", "-o", "json", tool=tool)
                host = None
                try:
                    host = next((h for h in json.loads(out) if h.get("name") == FAILED), None)
                except ValueError:
                    pass
                state = host and str(host.get("stateName") or host.get("state"))
                if state and (state.lower().endswith("done") or state.lower().endswith("failed")) or time.time() > end:
                    break
                time.sleep(0.5)
            rep["evacctl_hosts"] = host
            c = (host or {}).get("counts") or {}
            rep["report"] = "host %s %s: total %s, done %s, failed %s, in-flight %s (evacctl hosts)" % (
                FAILED, state, c.get("total", 0), c.get("done", 0), c.get("failed", 0), c.get("inFlight", 0))
            code, out, errout = self.evacctl("list", "--host", FAILED, "-o", "json", tool=tool)
            try:
                recs = json.loads(out)
                by = {}
                for r in recs:
                    s = str(r.get("stateName") or r.get("state"))
                    by[s] = by.get(s, 0) + 1
                rep["evacctl_records"] = by
            except ValueError:
                rep["evacctl_records"] = (out + errout)[:300]
        elif tool.startswith("masakari"):
            th.join(timeout=self.a.deadline_for(tool) + 120)
            rep["report"] = "notification %s" % rep.get("notification_status", "?") + (
                " at %.1f s" % rep["tool_done_s"] if rep.get("tool_done_s") else "")
            if rep.get("trigger_error"):
                rep["report"] += " (error: %s)" % rep["trigger_error"][:120]
        elif tool == "fence-agents":
            th.join(timeout=600)
            last = (rep.get("fence_evacuate_output") or rep.get("fence_compute_output") or "").splitlines()
            rep["report"] = "fence_compute exit %s at %s s; fence_evacuate exit %s at %s s%s" % (
                rep.get("fence_compute_exit"), "%.1f" % rep["fence_compute_s"] if rep.get("fence_compute_s") else "?",
                rep.get("fence_evacuate_exit"),
                "%.1f" % rep["fence_evacuate_s"] if rep.get("fence_evacuate_s") else "?",
                (": " + last[-1][:100]) if last else " (no output)")
        elif tool == "bare":
            th.join(timeout=120)
            rep["report"] = "%s/%s evacuate POSTs accepted in %.1f s, %d ACTIVE elsewhere" % (
                rep.get("accepted"), rep.get("listed"), rep.get("trigger_s", 0), rep["active_elsewhere"])
        if rep.get("trigger_error") and tool != "masakari-default" and not tool.startswith("masakari"):
            rep["report"] = (rep.get("report") or "") + " (trigger error: %s)" % rep["trigger_error"][:120]

    def cpu_sample(self):
        """CPU seconds used so far, by component: the stack's processes (process groups from
        $BASE/pids), etcd and the evacuationd daemons (started in the bench's work directory),
        and this driver."""
        tick = os.sysconf("SC_CLK_TCK")
        groups = {}
        pdir = os.path.join(self.a.base, "pids")
        for name in os.listdir(pdir) if os.path.isdir(pdir) else []:
            try:
                pid = int(open(os.path.join(pdir, name)).read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            label = "nova-compute" if name.startswith("nova-compute") else name
            groups[pid] = label
        work = {os.path.dirname(os.path.abspath(p)) for p in self.a.daemon_logs + self.a.tuned_logs}
        out = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                stat = open("/proc/%s/stat" % d).read()
                f = stat[stat.rindex(")") + 2:].split()
                pgrp, cpu = int(f[2]), (int(f[11]) + int(f[12])) / tick
                label = groups.get(pgrp)
                if label is None and work:
                    if os.readlink("/proc/%s/cwd" % d) in work:
                        cmd = open("/proc/%s/cmdline" % d, "rb").read().split(b"\0")
                        ident = next((c.decode() for c in cmd if c.startswith(b"--Engine:DaemonId=")), "")
                        label = ("evacuationd-tuned" if "tuned" in ident else "evacuationd") if ident else (
                            "etcd" if cmd and cmd[0].endswith(b"etcd") else None)
                if int(d) == os.getpid():
                    label = "bench driver"
                if label:
                    out[label] = out.get(label, 0.0) + cpu
            except (OSError, ValueError, IndexError):
                continue
        return out

    @staticmethod
    def api_requests(path, offset, t0, t1):
        """What nova-api served between t0 and t1 (its access lines): counts by kind, time spent."""
        pat = re.compile(r'^(\S+ \S+) .*"(\w+) (\S+) HTTP[^"]*" status: (\d+) len: \d+ time: ([\d.]+)')
        kinds, busy, total = {}, {}, 0
        gets, posts = {}, {}  # per server: GET /servers/{id} times, first POST .../action time
        try:
            with open(path, errors="replace") as f:
                f.seek(offset)
                for line in f:
                    m = pat.search(line)
                    if not m:
                        continue
                    # nova-api logs a request when it answered, with its duration: take its start
                    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(
                        tzinfo=datetime.timezone.utc).timestamp() - float(m.group(5))
                    if not t0 <= t <= t1:
                        continue
                    u = re.search(r"/servers/([0-9a-f]{8}-[0-9a-f-]{27})(/action)?$", m.group(3).split("?")[0])
                    if u and m.group(2) == "GET" and not u.group(2):
                        gets.setdefault(u.group(1), []).append(t)
                    elif u and m.group(2) == "POST" and u.group(2):
                        posts.setdefault(u.group(1), t)
                    path_ = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", m.group(3).split("?")[0])
                    if "changes-since" in m.group(3):
                        path_ += "?changes-since"
                    k = "%s %s" % (m.group(2), path_.replace("/v2.1", ""))
                    kinds[k] = kinds.get(k, 0) + 1
                    busy[k] = busy.get(k, 0.0) + float(m.group(5))
                    total += 1
        except OSError:
            return None
        # per server, before its (first) action POST: how often it was looked at, and how long
        # after the first look the call came (a runner that ended without a claim waits a
        # PollInterval before the record is picked again)
        before = [(len([g for g in gets.get(u, []) if g <= tp]), tp - min(gets[u])) for u, tp in posts.items() if gets.get(u)]
        pre = None
        if before:
            counts = {}
            for c, _ in before:
                counts[str(min(c, 3)) + ("+" if c >= 3 else "")] = counts.get(str(min(c, 3)) + ("+" if c >= 3 else ""), 0) + 1
            gaps = [g for _, g in before]
            pre = {"looks": counts, "first_look_to_call_s": {"median": statistics.median(gaps), "max": max(gaps)}}
        return {"requests": total, "per_s": total / max(0.001, t1 - t0), "before_call": pre,
                "by_kind": {k: {"n": v, "mean_s": round(busy[k] / v, 3)} for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])}}

    def migrations(self, idset):
        d = self.nova.get("/os-migrations?migration_type=evacuation&source_compute=%s&limit=1000" % FAILED)
        return [m for m in d["migrations"] if m["instance_uuid"] in idset]

    # --- evacuationd: what the daemons did, from their logs --------------------------------
    def daemon_analysis(self, t0, ids, done, logs):
        events = []
        for path in logs:
            try:
                with open(path, errors="replace") as f:
                    for line in f:
                        if not line.startswith("{"):
                            continue
                        try:
                            e = json.loads(line)
                        except ValueError:
                            continue
                        ts = e.get("@t")
                        if not ts:
                            continue
                        t = parse_ts(ts)
                        if t >= t0 - 1:
                            e["_t"] = t - t0
                            e["_log"] = os.path.basename(path)
                            events.append(e)
            except OSError:
                pass
        events.sort(key=lambda e: e["_t"])
        out = {}
        msg = lambda e: e.get("@m", "")  # noqa: E731
        evid = lambda e: (e.get("EventId") or {}).get("Id") if isinstance(e.get("EventId"), dict) else None  # noqa: E731
        calls = [e for e in events if evid(e) == 213 or "calling evacuate" in msg(e)]
        out["evacuate_calls"] = len(calls)
        out["first_evacuate_s"] = calls[0]["_t"] if calls else None
        out["last_evacuate_s"] = calls[-1]["_t"] if calls else None
        out["calls_per_daemon"] = {}
        for e in calls:
            out["calls_per_daemon"][e["_log"]] = out["calls_per_daemon"].get(e["_log"], 0) + 1
        fd = [e for e in events if evid(e) == 217 or "forcing nova-compute" in msg(e)]
        out["force_down_s"] = fd[0]["_t"] if fd else None
        pl = [e for e in events if evid(e) == 218 or re.search(r"planned \d+ record", msg(e))]
        out["planned_s"] = pl[0]["_t"] if pl else None
        # per record: evacuate call -> Nova ACTIVE (our poll) -> record done (its owner noticed)
        start, finish = {}, {}
        for e in calls:
            u = e.get("InstanceUuid")
            if u:
                start.setdefault(u, e["_t"])
        for e in events:
            if evid(e) == 211 and e.get("InstanceUuid") and str(e.get("To")) in ("done", "failed"):
                finish.setdefault(e["InstanceUuid"], e["_t"])
        host_done = [e for e in events if evid(e) == 211 and str(e.get("Key", "")).startswith("host ")
                     and str(e.get("To")) in ("done", "failed")]
        out["host_done_s"] = host_done[0]["_t"] if host_done else None
        out["records_done_last_s"] = max(finish.values()) if finish else None
        out["sent"] = start
        lags = [finish[u] - done[u][0] for u in finish if u in done]
        if lags:
            out["notice_lag_s"] = {"min": min(lags), "median": statistics.median(lags), "max": max(lags)}
        # evacuations in flight at once (call issued, record not yet done), sampled at each call
        inflight = 0
        for e in calls:
            inflight = max(inflight, sum(1 for u, s in start.items() if s <= e["_t"] and finish.get(u, 1e9) > e["_t"]))
        out["max_in_flight"] = inflight
        # timeline of calls: how many issued by 1, 2, 5, 10 s after t0
        out["calls_by"] = {str(k): sum(1 for e in calls if e["_t"] <= k) for k in (1, 2, 3, 5, 10, 20)}
        warn = [e for e in events if e.get("@l") in ("Warning", "Error")]
        out["warnings"] = len(warn)
        out["warning_samples"] = sorted({msg(e)[:160] for e in warn})[:5]
        return out


def parse_ts(ts):
    """Serilog's @t: UTC, ISO 8601 with up to 7 fraction digits and a Z."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", ts)
    base = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    tz = m.group(3) or "Z"
    off = datetime.timedelta(0) if tz == "Z" else datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])) * (1 if tz[0] == "+" else -1)
    frac = float("0." + m.group(2)) if m.group(2) else 0.0
    return (base - off).replace(tzinfo=datetime.timezone.utc).timestamp() + frac


def api_text(a):
    """nova-api's load during a run, in words."""
    if not a:
        return "nova-api: -"
    k = a["by_kind"]
    get = lambda key: k.get(key, {"n": 0, "mean_s": 0})  # noqa: E731
    ev = get("POST /servers/{id}/action")
    text = ("nova-api served %d requests (%.1f/s): %d GET /servers/{id} (%.2f s each), %d GET /os-migrations, %d evacuate POSTs "
            "(%.2f s each), %d bench polls (%.2f s each)" % (
                a["requests"], a["per_s"], get("GET /servers/{id}")["n"], get("GET /servers/{id}")["mean_s"],
                get("GET /os-migrations")["n"], ev["n"], ev["mean_s"],
                get("GET /servers/detail?changes-since")["n"], get("GET /servers/detail?changes-since")["mean_s"]))
    b = a.get("before_call")
    if b:
        text += ("; GET /servers/{id} per server before its evacuate call: %s; first look → call %.1f s median, %.1f s max" % (
            ", ".join("%s×: %d" % (k, v) for k, v in sorted(b["looks"].items())),
            b["first_look_to_call_s"]["median"], b["first_look_to_call_s"]["max"]))
    return text


def cpu_text(r):
    """CPU seconds by component from t0 to the end of the poll (2 cores = 2 CPU-s per s)."""
    c = r.get("cpu_s")
    if not c:
        return ""
    keys = ["nova-api", "nova-conductor", "nova-scheduler", "nova-compute", "mariadb", "placement", "rabbit",
            "evacuationd", "evacuationd-tuned", "etcd", "masakari-api", "masakari-engine", "bench driver"]
    parts = ["%s %.1f" % (k, c[k]) for k in keys if c.get(k)]
    return "; CPU-s in %.0f s: %s" % (r.get("cpu_window_s", 0), ", ".join(parts))


def fmt(x, p=1):
    return "-" if x is None else ("%.*f" % (p, x))


def merge_reports(texts):
    """One text for several runs: equal texts once; texts that differ only in their numbers
    once, each number as "a / b / c" (run order); otherwise each run's text."""
    num = re.compile(r"\d+(?:\.\d+)?")
    if len(set(texts)) == 1:
        return texts[0]
    shapes = {num.sub("#", t) for t in texts}
    if len(shapes) == 1:
        values = [num.findall(t) for t in texts]
        parts = num.split(texts[0])
        out = parts[0]
        for i in range(len(values[0])):
            vs = [v[i] for v in values]
            out += vs[0] if len(set(vs)) == 1 else " / ".join(vs)
            out += parts[i + 1]
        return out
    return "; ".join("run %d: %s" % (i + 1, t) for i, t in enumerate(texts))


def report_text(r):
    """What the tool said at the end; for evacuationd: evacctl's host line, with the time the
    daemons marked the host's fencing done (from their logs)."""
    h = r.get("evacctl_hosts")
    if r["tool"].startswith("evacuationd") and isinstance(h, dict):
        c = h.get("counts") or {}
        at = (r.get("daemon") or {}).get("host_done_s")
        return "evacctl hosts: %s %s%s, %s of %s done, %s failed" % (
            h.get("name"), h.get("stateName") or h.get("state"), " at %.1f s" % at if at else "",
            c.get("done", 0), c.get("total", 0), c.get("failed", 0))
    return r.get("report") or "-"


def largest_batch(r):
    """The most servers one destination host received in a run."""
    return max((r.get("placement") or {"-": 0}).values())


def summarize(results, tools, sizes):
    """The table (Markdown) from the per-run results."""
    lines = ["| tool | N | runs | fence → all ACTIVE elsewhere, s (min / median / max) | servers ERROR | duplicate evacuations | the tool reports at the end | largest batch² | load¹ |",
             "| --- | ---: | ---: | --- | ---: | ---: | --- | --- | ---: |"]
    medians = {}
    for tool in tools:
        for n in sizes:
            rs = [r for r in results if r["tool"] == tool and r["n"] == n]
            if not rs:
                continue
            ms = [r["makespan_s"] for r in rs if r.get("makespan_s") is not None and r.get("outcome") == "all ACTIVE elsewhere"]
            failed_runs = len(rs) - len(ms)
            span = "%s / %s / %s" % (fmt(min(ms)), fmt(statistics.median(ms)), fmt(max(ms))) if ms else "-"
            if failed_runs:
                span += " (%d run(s) not all ACTIVE: %s)" % (failed_runs, "; ".join(
                    r["outcome"] for r in rs if r.get("outcome") != "all ACTIVE elsewhere"))
            if ms:
                medians[(tool, n)] = statistics.median(ms)
            errs = sum(r.get("error_servers", 0) for r in rs)
            dups = sum(r.get("duplicates", 0) for r in rs)
            rep = merge_reports([report_text(r) for r in rs])
            loads = [r["load1"] for r in rs if r.get("load1") is not None]
            batches = ", ".join(str(largest_batch(r)) for r in rs if r.get("placement"))
            lines.append("| %s | %d | %d | %s | %d | %d | %s | %s | %s |" % (tool, n, len(rs), span, errs, dups, rep.replace("|", "/"),
                                                                       batches or "-", fmt(statistics.median(loads)) if loads else "-"))
    return "\n".join(lines), medians


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", help="the stack's BASE (tests/real-nova/start.sh)")
    ap.add_argument("--real-nova", help="the tests/real-nova directory")
    ap.add_argument("--sizes", default="20 40")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--masakari-default-reps", type=int, default=1)
    ap.add_argument("--evacctl", help="command that runs evacctl")
    ap.add_argument("--evacd-servers", help="comma-separated daemon URLs")
    ap.add_argument("--daemon-log", action="append", dest="daemon_logs", default=[])
    ap.add_argument("--tuned-servers", default="", help="the daemons of evacuationd-tuned")
    ap.add_argument("--tuned-log", action="append", dest="tuned_logs", default=[])
    ap.add_argument("--tuned-settings", default="", help="what evacuationd-tuned's daemons were given (for the report)")
    ap.add_argument("--deadline", type=int, default=300, help="seconds per run (masakari-default: + 180)")
    ap.add_argument("--results", required=True, help="JSON lines, one per run (appended)")
    ap.add_argument("--table", required=True, help="write the Markdown table and the figures here")
    ap.add_argument("--summarize-only", action="store_true", help="no runs: rebuild --table from --results")
    a = ap.parse_args()
    a.deadline_for = lambda tool: a.deadline + (180 if tool == "masakari-default" else 0)
    tools = [t.strip() for t in re.split(r"[ ,]+", a.tools) if t.strip()]
    for t in tools:
        if t not in TOOLS:
            ap.error("unknown tool %r (known: %s)" % (t, ", ".join(TOOLS)))
    sizes = [int(x) for x in a.sizes.split()]
    if a.summarize_only:
        results = [json.loads(line) for line in open(a.results) if line.strip()]
        write_report(results, tools, sizes, a.table)
        return 0
    for need in ("base", "real_nova", "evacctl", "evacd_servers"):
        if not getattr(a, need):
            ap.error("--%s is required (except with --summarize-only)" % need.replace("_", "-"))
    b = Bench(a)
    results = []
    # Rounds, not one tool after the other: the machine's load drifts (other work shares it),
    # and round-robin spreads the drift over every tool. In a round: masakari-2s first and
    # masakari-default last, so that Masakari's 180 s duplicate window has passed.
    order = [t for t in ("masakari-2s", "evacuationd", "bare", "evacuationd-tuned", "fence-agents", "masakari-default") if t in tools]
    try:
        for n in sizes:
            for i in range(1, a.reps + 1):
                for tool in order:
                    if tool == "masakari-default" and i > a.masakari_default_reps:
                        continue
                    try:
                        r = b.run(tool, n, i)
                    except Exception as e:  # noqa: BLE001 - record the failed run, go on
                        say("  run failed: %s" % e)
                        r = {"tool": tool, "n": n, "rep": i, "makespan_s": None, "outcome": "run failed: %s" % str(e)[:200]}
                        try:
                            b.compute("start", FAILED, check=False)
                            b.prepare()
                        except Exception as e2:  # noqa: BLE001
                            say("  could not restore the stack: %s" % e2)
                    results.append(r)
                    with open(a.results, "a") as f:
                        f.write(json.dumps(r, sort_keys=True) + "\n")
    finally:
        b.masakari_stop()

    write_report(results, tools, sizes, a.table)
    bad = [r for r in results if r.get("outcome", "").startswith("run failed")]
    return 1 if bad else 0


def write_report(results, tools, sizes, path):
    """The table and the figures below it, from the per-run results."""
    table, medians = summarize(results, tools, sizes)
    extra = []
    for n in sizes:
        for tool in ("evacuationd", "evacuationd-tuned"):
            if (tool, n) in medians and ("bare", n) in medians:
                e, f = medians[(tool, n)], medians[("bare", n)]
                extra.append("- N=%d: %s's median %.1f s is %.0f%% of the bare floor's median %.1f s (%+.0f%%; target: within +10%%)"
                             % (n, tool, e, 100 * e / f, f, 100 * (e - f) / f))
    for r in results:
        if r["tool"] == "bare" and r.get("call_to_active_s"):
            c = r["call_to_active_s"]
            extra.append("- bare N=%d run %d: makespan %s s; %s evacuate POSTs sent from %s s, all answered at %s s; evacuate call → ACTIVE elsewhere %s / %s / %s s (min/median/max); %s" % (
                r["n"], r["rep"], fmt(r.get("makespan_s"), 2), r.get("accepted"), fmt(r.get("first_sent_s"), 2), fmt(r.get("trigger_s"), 2),
                fmt(c["min"], 2), fmt(c["median"], 2), fmt(c["max"], 2), api_text(r.get("nova_api")) + cpu_text(r)))
    ev = [r for r in results if r["tool"].startswith("evacuationd") and r.get("daemon")]
    for r in ev:
        d = r["daemon"]
        lag = d.get("notice_lag_s") or {}
        extra.append("- %s N=%d run %d: makespan %s s; evacctl fence answered at %s s, force-down at %s s, planned at %s s, first evacuate call at %s s, last at %s s "
                     "(%d calls; issued by 1/2/3/5/10 s: %s); at most %s in flight; each record noticed its server ACTIVE %s / %s / %s s later (min/median/max); "
                     "evacuate call → ACTIVE elsewhere %s / %s / %s s; host done at %s s; %s" % (
                         r["tool"], r["n"], r["rep"], fmt(r.get("makespan_s"), 2), fmt(r.get("trigger_s"), 2), fmt(d.get("force_down_s"), 2), fmt(d.get("planned_s"), 2),
                         fmt(d.get("first_evacuate_s"), 2), fmt(d.get("last_evacuate_s"), 2), d.get("evacuate_calls", 0),
                         "/".join(str(d["calls_by"].get(k, 0)) for k in ("1", "2", "3", "5", "10")),
                         d.get("max_in_flight"), fmt(lag.get("min"), 2), fmt(lag.get("median"), 2), fmt(lag.get("max"), 2),
                         fmt((r.get("call_to_active_s") or {}).get("min"), 2), fmt((r.get("call_to_active_s") or {}).get("median"), 2),
                         fmt((r.get("call_to_active_s") or {}).get("max"), 2),
                         fmt(d.get("host_done_s"), 2), api_text(r.get("nova_api")) + cpu_text(r)))
    # Nova's compute serializes the rebuild claims on a destination host (its resource
    # tracker lock), so a run is about as long as its largest batch takes: seconds per
    # evacuation on the busiest host, a figure that does not depend on the scheduler's split
    per = []
    for tool in tools:
        if tool == "masakari-default":
            continue  # its 180 s sleep, not the evacuations, makes its time
        for n in sizes:
            rs = [r for r in results if r["tool"] == tool and r["n"] == n and r.get("makespan_s") and r.get("placement")
                  and r.get("outcome") == "all ACTIVE elsewhere"]
            if rs:
                v = [r["makespan_s"] / largest_batch(r) for r in rs]
                per.append("%s N=%d: %s" % (tool, n, " / ".join(fmt(x, 2) for x in sorted(v))))
    if per:
        extra.insert(0, "- makespan ÷ largest batch, s per evacuation on the busiest destination (each run, sorted): " + "; ".join(per))
    out = (table + "\n\n¹ median 1-minute load average at the runs' start (2 cores; other work shared the machine)\n"
           + "² per run: the most servers Nova's scheduler sent to one destination host (of 2)\n\n"
           + "\n".join(extra) + "\n")
    with open(path, "w") as f:
        f.write(out)


if __name__ == "__main__":
    sys.exit(main())
