"""Paste filter for nova-api in tests/real-nova: Nova's own "noauth2" with the token kept.

X-Auth-Token is "<user>:<project>" (the Keystone stub hands out exactly such tokens); user
"admin" is an administrator. Stock noauth2 (nova.api.openstack.auth.NoAuthMiddleware) builds
the request context without the token, so every call Nova makes on the user's behalf
(Glance when booting or evacuating) fails with "No valid authentication is available".
start.sh points the [filter:noauth2] factory of Debian's api-paste.ini here and puts this
directory on nova-api's PYTHONPATH."""
from oslo_middleware import request_id
import webob.dec
import webob.exc

from nova.api import wsgi as base_wsgi
from nova.api.openstack import wsgi
from nova import context

ADMIN_ROLES = ["admin", "member", "reader"]
USER_ROLES = ["member", "reader"]


class TokenKeepingNoAuth(base_wsgi.Middleware):

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req):
        token = req.headers.get("X-Auth-Token")
        if not token:
            return webob.exc.HTTPUnauthorized(
                explanation='send X-Auth-Token: "<user>:<project>" (e.g. admin:admin)')
        user, _, project = token.partition(":")
        admin = user == "admin"
        req.environ["nova.context"] = context.RequestContext(
            user, project or user,
            is_admin=admin,
            roles=list(ADMIN_ROLES if admin else USER_ROLES),
            auth_token=token,
            remote_address=getattr(req, "remote_addr", "127.0.0.1"),
            request_id=req.environ.get(request_id.ENV_REQUEST_ID))
        return self.application
