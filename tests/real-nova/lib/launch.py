#!/usr/bin/python3
"""Entry points for every Python process of tests/real-nova.

Debian ships the nova-* and masakari-* commands in packages we do not install (they bring
init scripts, dbconfig and, for nova-compute, a hypervisor), so this one launcher stands in
for them:

    launch.py nova-api|nova-conductor|nova-scheduler|nova-compute|nova-manage [ARGS...]
    launch.py masakari-api|masakari-engine|masakari-manage [ARGS...]
    launch.py placement-api HOST PORT      (config dir in OS_PLACEMENT_CONFIG_DIR)
    launch.py nova-cells-init CELL0_DB_URL --config-file ...
                                           (api_db sync, map_cell0, create_cell cell1)

Always run it with /usr/bin/python3: Nova lives in Debian's dist-packages.
Keep the imports at the top minimal: nova.cmd / masakari.cmd monkey-patch eventlet when
they are imported, which must happen before anything starts threads."""
import importlib
import sys

COMMANDS = {
    "nova-api": "nova.cmd.api",
    "nova-conductor": "nova.cmd.conductor",
    "nova-scheduler": "nova.cmd.scheduler",
    "nova-compute": "nova.cmd.compute",
    "nova-manage": "nova.cmd.manage",
    "masakari-api": "masakari.cmd.api",
    "masakari-engine": "masakari.cmd.engine",
    "masakari-manage": "masakari.cmd.manage",
}


def fix_masakari_read_deleted():
    """Debian 12's python3-oslo.messaging (14.0.3-0+deb12u1) rebuilds a "sanitized" request
    context with RequestContext.from_dict() before it sends a notification, and leaves
    read_deleted out; masakari 14 refuses read_deleted=None with a ValueError, so every
    write through masakari-api answers 500. Read None as the default, 'no'."""
    from masakari import context

    cls = context.RequestContext
    setter = cls._set_read_deleted

    def set_read_deleted(self, value):
        setter(self, "no" if value is None else value)

    cls.read_deleted = property(cls._get_read_deleted, set_read_deleted,
                                cls._del_read_deleted)


def nova_cells_init(cell0_url, args):
    """nova-manage api_db sync; cell_v2 map_cell0 --database_connection CELL0_URL;
    cell_v2 create_cell --name cell1: the same code, in one process (every nova-manage run
    spends seconds importing Nova)."""
    from nova.cmd import manage  # monkey-patches eventlet first
    from nova import config, objects, rpc
    from oslo_log import log as logging

    config.parse_args(["nova-manage"] + args)
    logging.setup(manage.CONF, "nova")
    objects.register_all()
    cells = manage.CellV2Commands()
    steps = [("api_db sync", manage.ApiDbCommands().sync),
             ("cell_v2 map_cell0", lambda: cells.map_cell0(database_connection=cell0_url)),
             ("cell_v2 create_cell --name cell1", lambda: cells.create_cell(name="cell1"))]
    for title, step in steps:
        print("nova-manage " + title, flush=True)
        rc = step()
        if rc:
            return rc
    rpc.cleanup()
    return 0


def serve_placement(host, port):
    """placement-api on a thread-per-request stdlib WSGI server. Debian's
    /usr/bin/placement-api serves one request at a time; with several computes reporting
    and a few boots or evacuations at once it becomes the bottleneck."""
    import socketserver
    from wsgiref import simple_server

    from placement import wsgi

    class Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
        daemon_threads = True
        request_queue_size = 128

    class Handler(simple_server.WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass  # placement logs its own requests

    app = wsgi.init_application()
    simple_server.make_server(host, int(port), app, server_class=Server,
                              handler_class=Handler).serve_forever()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    name, args = sys.argv[1], sys.argv[2:]
    if name == "placement-api":
        if len(args) != 2:
            sys.exit("usage: launch.py placement-api HOST PORT")
        return serve_placement(*args)
    if name == "nova-cells-init":
        if not args:
            sys.exit("usage: launch.py nova-cells-init CELL0_DB_URL --config-file ...")
        return nova_cells_init(args[0], args[1:])
    if name not in COMMANDS:
        sys.exit("launch.py: unknown command %r (known: placement-api, nova-cells-init, %s)"
                 % (name, ", ".join(sorted(COMMANDS))))
    sys.argv = [name] + args  # oslo.config names the program after argv[0]
    module = importlib.import_module(COMMANDS[name])
    if name.startswith("masakari-"):
        fix_masakari_read_deleted()
    return module.main()


if __name__ == "__main__":
    sys.exit(main())
