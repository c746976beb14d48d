#!/usr/bin/python3
"""Stand-ins for Keystone, Glance and Neutron, just enough for a real Nova with the fake
virt driver (servers booted with "networks": "none") and for clients that log in through
Keystone (evacuationd's Nova adapter, openstacksdk, fence agents, masakari).

  Keystone v3  GET / (version discovery), GET /v3, POST /v3/auth/tokens (password or token
               method, any user and password; the token is "<user>:<project>", which nova-api's
               noauth filter in lib/evacd_noauth.py reads back; user "admin" is an admin),
               GET/HEAD/DELETE /v3/auth/tokens. The catalog (region RegionOne, interfaces
               public/internal/admin) has compute, image, network, placement, identity and
               instance-ha (masakari).
  Glance v2    one public, active image 11111111-2222-3333-4444-555555555555: GET /v2/images,
               GET /v2/images/{id}, GET /v2/schemas/image(s) (glanceclient builds its model
               from the schema), version documents on / and /versions.
  Neutron v2.0 every collection is empty (ports, networks, extensions, security-groups,
               floatingips, ...); DELETE answers 204.

Python 3 standard library only; one thread per request. Every request is logged on stdout
(which of the three answered, method, path, status), so you can see what Nova asks for.

usage: stub.py [--keystone P] [--glance P] [--neutron P] [--nova P] [--placement P]
               [--masakari P]
Each port defaults to the environment variable of the same name as in $BASE/env
(KEYSTONE_PORT, GLANCE_PORT, NEUTRON_PORT, NOVA_PORT, PLACEMENT_PORT, MASAKARI_PORT), else to
the stock port plus PORT_OFFSET (default 0). Listens on 127.0.0.1 only."""
import argparse
import datetime
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
IMAGE_ID = "11111111-2222-3333-4444-555555555555"
STOCK_PORTS = {"keystone": 5000, "glance": 9292, "neutron": 9696, "nova": 8774,
               "placement": 8778, "masakari": 15868}
LOG_LOCK = threading.Lock()


def utc(delta_hours=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=delta_hours)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


class Cloud:
    """What the three services describe: URLs, the catalog, the image."""

    def __init__(self, ports):
        self.ports = ports
        url = lambda name, path="": "http://%s:%d%s" % (HOST, ports[name], path)  # noqa: E731
        self.keystone_url = url("keystone")
        self.glance_url = url("glance")
        self.neutron_url = url("neutron")
        services = [("compute", "nova", url("nova", "/v2.1")),
                    ("image", "glance", url("glance")),
                    ("network", "neutron", url("neutron")),
                    ("placement", "placement", url("placement")),
                    ("identity", "keystone", url("keystone", "/v3")),
                    ("instance-ha", "masakari", url("masakari", "/v1"))]
        self.catalog = [{
            "id": "svc-" + name, "type": kind, "name": name,
            "endpoints": [{"id": "%s-%s" % (name, iface), "interface": iface,
                           "region": "RegionOne", "region_id": "RegionOne", "url": u}
                          for iface in ("public", "internal", "admin")]}
            for kind, name, u in services]
        self.v3 = {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
                   "links": [{"rel": "self", "href": self.keystone_url + "/v3/"}],
                   "media-types": [{"base": "application/json",
                                    "type": "application/vnd.openstack.identity-v3+json"}]}
        self.image = {
            "id": IMAGE_ID, "name": "evacd-fake-image", "status": "active",
            "visibility": "public", "protected": False, "os_hidden": False,
            "owner": "admin", "size": 1 << 20, "virtual_size": None,
            "min_ram": 0, "min_disk": 0, "disk_format": "raw", "container_format": "bare",
            "checksum": "0" * 32, "os_hash_algo": None, "os_hash_value": None, "tags": [],
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            "self": "/v2/images/" + IMAGE_ID, "file": "/v2/images/%s/file" % IMAGE_ID,
            "schema": "/v2/schemas/image"}
        props = {k: {} for k in list(self.image) + ["direct_url", "locations"]}
        self.image_schema = {"name": "image", "properties": props,
                             "additionalProperties": {"type": "string"}, "links": []}

    def token(self, user, project):
        domain = {"id": "default", "name": "Default"}
        roles = ["admin", "member", "reader"] if user == "admin" else ["member", "reader"]
        return {"token": {
            "methods": ["password"], "audit_ids": ["evacd-stub"],
            "issued_at": utc(), "expires_at": utc(24),
            "user": {"id": user, "name": user, "domain": domain,
                     "password_expires_at": None},
            "project": {"id": project, "name": project, "domain": domain},
            "roles": [{"id": r, "name": r} for r in roles],
            "is_domain": False, "catalog": self.catalog}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "evacd-stub"

    # --- plumbing -----------------------------------------------------------------
    def log_message(self, fmt, *args):
        with LOG_LOCK:
            sys.stdout.write("%s %s %s\n" % (self.log_date_time_string(),
                                             self.server.role, fmt % args))
            sys.stdout.flush()

    def send(self, status, body=None, headers=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return None

    def route(self):
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        getattr(self, self.server.role)(path, self.server.cloud)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = route

    # --- Keystone v3 ----------------------------------------------------------------
    def keystone(self, path, cloud):
        m = self.command
        if path == "/" and m in ("GET", "HEAD"):
            return self.send(300, {"versions": {"values": [cloud.v3]}})
        if path == "/v3" and m in ("GET", "HEAD"):
            return self.send(200, {"version": cloud.v3})
        if path == "/v3/auth/tokens":
            if m == "POST":
                return self.issue_token(cloud)
            if m in ("GET", "HEAD"):  # validation: every "<user>:<project>" token is valid
                tok = self.headers.get("X-Subject-Token") or self.headers.get("X-Auth-Token", "")
                user, _, project = tok.partition(":")
                if not user:
                    return self.send(404, error(404, "token not found"))
                return self.send(200, cloud.token(user, project or user),
                                 {"X-Subject-Token": tok})
            if m == "DELETE":
                return self.send(204)
        if path == "/v3/auth/catalog" and m == "GET":
            return self.send(200, {"catalog": cloud.catalog})
        return self.send(404, error(404, "not served by the evacd Keystone stub"))

    def issue_token(self, cloud):
        body = self.read_json()
        auth = (body or {}).get("auth") or {}
        ident = auth.get("identity") or {}
        methods = ident.get("methods") or []
        if "password" in methods:
            u = (ident.get("password") or {}).get("user") or {}
            user = u.get("name") or u.get("id")
        elif "token" in methods:
            user = ((ident.get("token") or {}).get("id") or "").partition(":")[0]
        else:
            user = None
        if not user:
            return self.send(401, error(401, "password or token authentication required"))
        scope = auth.get("scope") or {}
        project = scope.get("project") if isinstance(scope, dict) else None
        project = (project or {}).get("name") or (project or {}).get("id") or user
        return self.send(201, cloud.token(user, project),
                         {"X-Subject-Token": "%s:%s" % (user, project)})

    # --- Glance v2 --------------------------------------------------------------------
    def glance(self, path, cloud):
        if self.command not in ("GET", "HEAD"):
            return self.send(403, {"message": "the evacd Glance stub is read-only"})
        if path in ("/", "/versions"):
            return self.send(300 if path == "/" else 200, {"versions": [
                {"id": "v2.9", "status": "CURRENT",
                 "links": [{"rel": "self", "href": cloud.glance_url + "/v2/"}]}]})
        if path == "/v2/schemas/image":
            return self.send(200, cloud.image_schema)
        if path == "/v2/schemas/images":
            return self.send(200, {"name": "images", "properties": {
                "images": {"type": "array", "items": cloud.image_schema}}, "links": []})
        if path == "/v2/images":
            return self.send(200, {"images": [cloud.image], "first": "/v2/images",
                                   "schema": "/v2/schemas/images"})
        m = re.fullmatch(r"/v2/images/([^/]+)", path)
        if m and m.group(1) == IMAGE_ID:
            return self.send(200, cloud.image)
        return self.send(404, {"message": "no such image (the stub has only %s)" % IMAGE_ID})

    # --- Neutron v2.0 ------------------------------------------------------------------
    def neutron(self, path, cloud):
        if self.command == "DELETE":
            return self.send(204)
        if self.command in ("GET", "HEAD"):
            if path in ("/", "/v2.0"):
                return self.send(200, {"versions": [
                    {"id": "v2.0", "status": "CURRENT",
                     "links": [{"rel": "self", "href": cloud.neutron_url + "/v2.0/"}]}]})
            m = re.fullmatch(r"/v2\.0/([a-z][a-z_-]*)(\.json)?", path)
            if m:  # any collection: empty
                return self.send(200, {m.group(1).replace("-", "_"): []})
        return self.send(404, {"NeutronError": {
            "type": "HTTPNotFound", "detail": "",
            "message": "not served by the evacd Neutron stub (no ports, no networks)"}})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # several nova processes at once; the default backlog is 5


def error(code, message):
    return {"error": {"code": code, "message": message, "title": "stub"}}


def main():
    offset = int(os.environ.get("PORT_OFFSET") or 0)
    parser = argparse.ArgumentParser(description="Keystone/Glance/Neutron stub for tests/real-nova")
    for name, stock in STOCK_PORTS.items():
        env = os.environ.get(name.upper() + "_PORT")
        parser.add_argument("--" + name, type=int, default=int(env) if env else stock + offset,
                            help="port (default $%s_PORT, else %d + $PORT_OFFSET)"
                                 % (name.upper(), stock))
    ports = vars(parser.parse_args())
    cloud = Cloud(ports)
    servers = []
    for role in ("keystone", "glance", "neutron"):
        srv = Server((HOST, ports[role]), Handler)
        srv.role, srv.cloud = role, cloud
        servers.append(srv)
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("evacd stub: keystone %d, glance %d, neutron %d (catalog: nova %d, placement %d, "
          "masakari %d)" % (ports["keystone"], ports["glance"], ports["neutron"],
                            ports["nova"], ports["placement"], ports["masakari"]), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
