#!/bin/sh
# Checks deploy/ offline, without a cluster, a container engine or a running systemd:
#  - every YAML and JSON file parses (the samples are JSON with // comments);
#  - the Kubernetes manifests reference what exists: ConfigMap and Secret keys, the file paths
#    of the configuration under the mounts, port names and numbers (configuration, probes,
#    Service, Dockerfile), label selectors, kustomization resources;
#  - every evacuationd_* metric named by the alert rules and the dashboard is one the code
#    exports (names derived from src/ with the exporter's rules);
#  - promtool check rules and test rules (promtool from PATH, $PROMTOOL, or extracted from
#    Debian's prometheus package when run as root), the dashboard's queries included;
#  - the sample configuration and the Kubernetes one validate (evacuationd check-config, with
#    their certificate paths pointed at a throwaway CA), agent.sample.json's keys are options
#    of evacuationd-agent;
#  - systemd-analyze verify of the units, shellcheck of the scripts (when installed).
#
# usage: deploy/check.sh [--no-build]
#   --no-build  skip what needs the binaries (check-config, the agent's options) unless
#               $EVACUATIOND and $EVACUATIOND_AGENT name them
# Ends with one line "N passed, N failed"; exit 0 only when nothing failed.
set -eu
cd "$(dirname "$0")/.."
build=yes
[ "${1:-}" = --no-build ] && build=no
if ! python3 -c 'import yaml' 2>/dev/null; then
    echo "check.sh: needs python3 with PyYAML (apt-get install python3-yaml)" >&2
    exit 1
fi
work=$(mktemp -d /tmp/evacuationd-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok    $*"; }
bad() { failed=$((failed + 1)); echo "FAIL  $*"; }
skip() { echo "skip  $*"; }

# --- static checks (python) --------------------------------------------------------------------
if python3 - "$work" > "$work/static.out" <<'PY'
import glob, json, os, re, sys, yaml

work = sys.argv[1]
results = []
def check(name, cond, detail=""):
    results.append((bool(cond), name + ("" if cond or not detail else f": {detail}")))

def strip_comments(text):
    """JSON with // comments (outside strings) to JSON."""
    out, i, in_str = [], 0, False
    while i < len(text):
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1]); i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True; out.append(c)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)

# Parse everything.
docs = {}
for f in sorted(glob.glob("deploy/**/*.y*ml", recursive=True)):
    try:
        docs[f] = [d for d in yaml.safe_load_all(open(f)) if d is not None]
        check(f"{f} parses ({len(docs[f])} document(s))", True)
    except yaml.YAMLError as e:
        check(f"{f} parses", False, str(e).replace("\n", " "))
samples = {}
for f in ["deploy/evacuationd.sample.json", "deploy/agent.sample.json"]:
    try:
        samples[f] = json.loads(strip_comments(open(f).read()))
        check(f"{f} parses (JSON with comments)", True)
    except ValueError as e:
        check(f"{f} parses", False, str(e))
try:
    dashboard = json.load(open("deploy/monitoring/evacuationd-dashboard.json"))
    check("deploy/monitoring/evacuationd-dashboard.json parses", True)
except ValueError as e:
    dashboard = {"panels": []}
    check("deploy/monitoring/evacuationd-dashboard.json parses", False, str(e))

# --- Kubernetes ---
k8s = {}
for f, ds in docs.items():
    if f.startswith("deploy/kubernetes/"):
        for d in ds:
            k8s.setdefault(d.get("kind"), {})[d.get("metadata", {}).get("name")] = (f, d)
kust = k8s.get("Kustomization", {}).get(None, (None, {}))[1]
for r in kust.get("resources", []):
    check(f"kustomization resource {r} exists", os.path.exists(f"deploy/kubernetes/{r}"))
check("kustomization leaves secrets.example.yaml out", "secrets.example.yaml" not in kust.get("resources", []))
configmaps = {n: d for n, (f, d) in k8s.get("ConfigMap", {}).items()}
secrets = {n: {**d.get("data", {}), **d.get("stringData", {})} for n, (f, d) in k8s.get("Secret", {}).items()}
deploy = k8s.get("Deployment", {}).get("evacuationd", (None, None))[1]
check("Deployment evacuationd exists", deploy is not None)
if deploy:
    spec = deploy["spec"]; pod = spec["template"]["spec"]; labels = spec["template"]["metadata"]["labels"]
    check("Deployment has 3 replicas", spec.get("replicas") == 3)
    def selects(sel):
        return bool(sel) and all(labels.get(k) == v for k, v in sel.items())
    check("Deployment selector matches its pod labels", selects(spec["selector"]["matchLabels"]))
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    check("pod anti-affinity selects the daemons, one per node",
          any(selects(t["labelSelector"]["matchLabels"]) and t["topologyKey"] == "kubernetes.io/hostname" for t in anti))
    for n, (f, pdb) in k8s.get("PodDisruptionBudget", {}).items():
        check(f"PodDisruptionBudget {n} selects the daemons", selects(pdb["spec"]["selector"]["matchLabels"]))
        check(f"PodDisruptionBudget {n} keeps 2 of 3", pdb["spec"].get("minAvailable") == 2)
    c = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    # env references
    for e in c.get("env", []):
        ref = e.get("valueFrom", {})
        if "configMapKeyRef" in ref:
            r = ref["configMapKeyRef"]
            check(f"env {e['name']}: ConfigMap {r['name']} has key {r['key']}", r["key"] in configmaps.get(r["name"], {}).get("data", {}))
        if "secretKeyRef" in ref:
            r = ref["secretKeyRef"]
            check(f"env {e['name']}: Secret {r['name']} has key {r['key']}", r["key"] in secrets.get(r["name"], {}))
    # volumes: keys exist
    for v in volumes.values():
        if "configMap" in v:
            data = configmaps.get(v["configMap"]["name"], {}).get("data", {})
            for it in v["configMap"].get("items", []):
                check(f"volume {v['name']}: ConfigMap {v['configMap']['name']} has key {it['key']}", it["key"] in data)
        if "secret" in v:
            data = secrets.get(v["secret"]["secretName"])
            check(f"volume {v['name']}: Secret {v['secret']['secretName']} is in secrets.example.yaml", data is not None)
            for it in v["secret"].get("items", []):
                check(f"volume {v['name']}: Secret {v['secret']['secretName']} has key {it['key']}", it["key"] in (data or {}))
    # files the container sees: mount path (+ item path) -> exists
    files = set()
    for m in c["volumeMounts"]:
        v = volumes.get(m["name"])
        check(f"mount {m['mountPath']}: volume {m['name']} exists", v is not None)
        if not v:
            continue
        if "subPath" in m:
            files.add(m["mountPath"]); continue
        for kind in ("configMap", "secret"):
            if kind in v:
                for it in v[kind].get("items", []):
                    files.add(f"{m['mountPath']}/{it['path']}")
    # the configuration the pods run with
    args = c.get("args", [])
    config_path = args[args.index("--config") + 1] if "--config" in args else None
    check(f"the container's --config {config_path} is mounted", config_path in files)
    cm = configmaps.get("evacuationd-config", {}).get("data", {})
    try:
        config = json.loads(cm.get("evacuationd.json", "{}"))
        check("ConfigMap evacuationd-config: evacuationd.json parses", True)
    except ValueError as e:
        config = {}
        check("ConfigMap evacuationd-config: evacuationd.json parses", False, str(e))
    open(os.path.join(work, "k8s-evacuationd.json"), "w").write(json.dumps(config))
    for section, key in [("Grpc", "CertFile"), ("Grpc", "KeyFile"), ("Grpc", "ClientCaFile"), ("Etcd", "CaFile"), ("Etcd", "CertFile"), ("Etcd", "KeyFile")]:
        p = config.get(section, {}).get(key)
        if p:
            check(f"{section}:{key} {p} is mounted from a Secret", p in files)
    cloud = config.get("Nova", {}).get("Cloud")
    if cloud:
        check("clouds.yaml is mounted at /etc/openstack/clouds.yaml", "/etc/openstack/clouds.yaml" in files)
        clouds = yaml.safe_load(secrets.get("evacuationd-clouds", {}).get("clouds.yaml", "{}")) or {}
        check(f"clouds.yaml (example) has the entry Nova:Cloud names ({cloud})", cloud in clouds.get("clouds", {}))
    def port_of(url):
        m = re.search(r":(\d+)/?$", url or "")
        return int(m.group(1)) if m else None
    check("Grpc:Listen's port is container port grpc", port_of(config.get("Grpc", {}).get("Listen")) == ports.get("grpc"))
    check("Grpc:HealthListen's port is container port grpc-health", port_of(config.get("Grpc", {}).get("HealthListen")) == ports.get("grpc-health"))
    check("Metrics:Listen's port is container port metrics", port_of(config.get("Metrics", {}).get("Listen")) == ports.get("metrics"))
    ann = spec["template"]["metadata"].get("annotations", {})
    check("prometheus.io/port is the metrics port", str(ports.get("metrics")) == ann.get("prometheus.io/port"))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        p = c.get(probe)
        check(f"{probe} is set", p is not None)
        if not p:
            continue
        if "grpc" in p:
            # Kubernetes' grpc probe takes a number and speaks no TLS: the health-only listener.
            check(f"{probe}: grpc probe on the plaintext health port", p["grpc"]["port"] == ports.get("grpc-health"))
        for kind in ("tcpSocket", "httpGet"):
            if kind in p:
                port = p[kind]["port"]
                check(f"{probe}: port {port} is a container port", port in ports or port in ports.values())
    check("readinessProbe is the gRPC health check", "grpc" in c.get("readinessProbe", {}))
    sc = c.get("securityContext", {})
    check("container: read-only root file system, no privilege escalation, no capabilities",
          sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False and sc.get("capabilities", {}).get("drop") == ["ALL"])
    check("/tmp is writable (emptyDir)", any(m["mountPath"] == "/tmp" and "emptyDir" in volumes.get(m["name"], {}) for m in c["volumeMounts"]))
    for n, (f, svc) in k8s.get("Service", {}).items():
        check(f"Service {n} selects the daemons", selects(svc["spec"]["selector"]))
        for p in svc["spec"]["ports"]:
            t = p.get("targetPort")
            check(f"Service {n} port {p['name']}: target {t} is a container port", t in ports or t in ports.values())
    # the image
    dockerfile = open("deploy/container/Dockerfile").read()
    exposed = {int(x) for line in re.findall(r"^EXPOSE (.*)$", dockerfile, re.M) for x in line.split()}
    check("the Dockerfile exposes every container port", set(ports.values()) <= exposed, f"{sorted(ports.values())} vs {sorted(exposed)}")
    check("the Dockerfile runs as a non-root user", re.search(r"^USER \$APP_UID", dockerfile, re.M) is not None)
    check(f"the Dockerfile's default --config is {config_path}", f'"--config", "{config_path}"' in dockerfile)
    check("runAsUser is the image's APP_UID (1654)", pod["securityContext"].get("runAsUser") == 1654)

# --- metric names: the exporter's rules applied to the instruments in src/ ---
units = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": "", "%": "percent"}
exported = {}
for f in glob.glob("src/**/*.cs", recursive=True):
    text = open(f).read()
    for m in re.finditer(r'Create(Counter|Histogram|ObservableGauge|ObservableCounter|UpDownCounter|Gauge)(?:<\w+>)?\(\s*"(evacuationd\.[^"]+)"', text):
        kind, name = m.group(1), m.group(2)
        # the unit: the first literal after the name that is one ({annotation}, s, ms, ...)
        literals = re.findall(r'"([^"]*)"', text[m.end():m.end() + 800])
        unit = next((u for u in literals if re.fullmatch(r"\{[^}]*\}|s|ms|By|1|%", u)), "")
        base = name.replace(".", "_")
        suffix = units.get(re.sub(r"\{[^}]*\}", "", unit or ""), "")
        if suffix and not base.endswith("_" + suffix):
            base += "_" + suffix
        if kind in ("Counter", "ObservableCounter") and not base.endswith("_total"):
            base += "_total"
        names = {base} | ({base + "_bucket", base + "_sum", base + "_count"} if kind == "Histogram" else set())
        exported[name] = names
known = set().union(*exported.values()) if exported else set()
check(f"metric names derived from src/ ({len(exported)} instruments)", len(exported) >= 10, str(sorted(exported)))
open(os.path.join(work, "metrics.txt"), "w").write("\n".join(sorted(known)) + "\n")
rules_text = open("deploy/monitoring/evacuationd-alerts.yaml").read()
queries = [t["expr"] for p in dashboard.get("panels", []) for t in p.get("targets", [])]
for where, text in [("alert rules", rules_text), ("dashboard", "\n".join(queries))]:
    used = set(re.findall(r"\bevacuationd_[a-z0-9_]+", text))
    unknown = sorted(used - known)
    check(f"{where}: the {len(used)} evacuationd_* metrics they use are exported", not unknown, f"unknown {unknown}")
used_all = set(re.findall(r"\bevacuationd_[a-z0-9_]+", rules_text + "\n".join(queries)))
# Dashboard queries as recording rules, so that promtool parses them.
rules = {"groups": [{"name": "dashboard", "rules": [
    {"record": f"dashboard:query{i}", "expr": q.replace("$__rate_interval", "5m").replace("$job", "evacuationd")}
    for i, q in enumerate(queries)]}]}
open(os.path.join(work, "dashboard-queries.yaml"), "w").write(yaml.safe_dump(rules))
check(f"dashboard: {len(queries)} queries in {len(dashboard.get('panels', []))} panels", len(queries) > 0)

for ok, name in results:
    print(("ok    " if ok else "FAIL  ") + name)
sys.exit(0 if all(ok for ok, _ in results) else 1)
PY
then :; fi
while IFS= read -r line; do
    case "$line" in ok*) passed=$((passed + 1)) ;; FAIL*) failed=$((failed + 1)) ;; esac
    echo "$line"
done < "$work/static.out"
[ -s "$work/static.out" ] || bad "static checks (python) printed nothing"

# --- promtool ------------------------------------------------------------------------------------
promtool=${PROMTOOL:-$(command -v promtool || true)}
if [ -z "$promtool" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    # Debian's prometheus package, unpacked only (no service is installed or started).
    if (cd "$work" && apt-get download prometheus >/dev/null 2>&1 && dpkg-deb -x prometheus_*.deb pkg); then
        promtool="$work/pkg/usr/bin/promtool"
    fi
fi
if [ -n "$promtool" ] && [ -x "$promtool" ]; then
    echo "      promtool: $("$promtool" --version 2>&1 | head -n 1)"
    if "$promtool" check rules deploy/monitoring/evacuationd-alerts.yaml > "$work/p.out" 2>&1; then ok "promtool check rules: $(grep -o 'SUCCESS.*' "$work/p.out")"; else bad "promtool check rules"; cat "$work/p.out"; fi
    if (cd deploy/monitoring && "$promtool" test rules evacuationd-alerts.test.yaml) > "$work/p.out" 2>&1; then ok "promtool test rules evacuationd-alerts.test.yaml"; else bad "promtool test rules"; cat "$work/p.out"; fi
    if "$promtool" check rules "$work/dashboard-queries.yaml" > "$work/p.out" 2>&1; then ok "promtool parses the dashboard's queries"; else bad "promtool: dashboard queries"; cat "$work/p.out"; fi
else
    skip "promtool not found (PATH, \$PROMTOOL, Debian's prometheus package): the rules were only parsed as YAML"
fi

# --- the configurations validate ---------------------------------------------------------------
evacuationd=${EVACUATIOND:-}
agent=${EVACUATIOND_AGENT:-}
if [ "$build" = yes ] && { [ -z "$evacuationd" ] || [ -z "$agent" ]; } && command -v dotnet >/dev/null; then
    echo "      building evacuationd and evacuationd-agent (Release)"
    if dotnet build src/Evacuationd.Server -c Release -nologo -v quiet > "$work/build.out" 2>&1 \
        && dotnet build src/Evacuationd.Agent -c Release -nologo -v quiet >> "$work/build.out" 2>&1; then
        evacuationd=${evacuationd:-src/Evacuationd.Server/bin/Release/net10.0/evacuationd}
        agent=${agent:-src/Evacuationd.Agent/bin/Release/net10.0/evacuationd-agent}
    else
        bad "dotnet build"; tail -n 20 "$work/build.out"
    fi
fi
if [ -n "$evacuationd" ]; then
    pki="$work/pki"
    deploy/make-certs.sh "$pki" >/dev/null 2>&1
    cat > "$work/clouds.yaml" <<'EOF'
clouds:
  evacuationd:
    auth: {auth_url: "https://keystone.example.com:5000/v3", username: evacuationd, password: x, project_name: admin}
EOF
    files="--Grpc:CertFile=$pki/server.pem --Grpc:KeyFile=$pki/server-key.pem --Grpc:ClientCaFile=$pki/ca.pem"
    files="$files --Etcd:CaFile=$pki/ca.pem --Etcd:CertFile=$pki/operator.pem --Etcd:KeyFile=$pki/operator-key.pem"
    for config in deploy/evacuationd.sample.json "$work/k8s-evacuationd.json"; do
        name=$config
        [ "$config" = deploy/evacuationd.sample.json ] || name="the ConfigMap's evacuationd.json"
        # shellcheck disable=SC2086 # $files: one word per option
        if OS_CLIENT_CONFIG_FILE="$work/clouds.yaml" EVACUATIOND__Etcd__Endpoints=https://10.0.0.5:2379 \
            "$evacuationd" check-config --config "$config" $files > "$work/c.out" 2>&1; then
            ok "$name validates (evacuationd check-config; certificate paths on a throwaway CA)"
        else
            bad "$name validates"; cat "$work/c.out"
        fi
    done
    if "$evacuationd" check-config --config deploy/evacuationd.sample.json > "$work/c.out" 2>&1; then
        bad "the sample as shipped must not validate here (its files do not exist)"
    elif grep -q "Grpc:CertFile" "$work/c.out"; then
        ok "the sample with its missing files is refused, naming the keys (exit 2)"
    else
        bad "check-config's refusal names the keys"; cat "$work/c.out"
    fi
else
    skip "check-config: no evacuationd binary (\$EVACUATIOND, or a build)"
fi
if [ -n "$agent" ]; then
    { "$agent" run --help; "$agent" gate --help; } > "$work/agent-help.txt" 2>&1 || true
    missing=$(python3 - "$work/agent-help.txt" <<'PY'
import json, re, sys
help_text = open(sys.argv[1]).read()
text = open("deploy/agent.sample.json").read()
# keys at the top level of the (commented) sample: "name": at two spaces of indentation
keys = re.findall(r'^  "([a-z-]+)":', text, re.M)
print(" ".join(k for k in keys if f"--{k}" not in help_text))
PY
)
    if [ -z "$missing" ]; then ok "agent.sample.json: every key is an option of evacuationd-agent run/gate"; else bad "agent.sample.json: not options of evacuationd-agent: $missing"; fi
else
    skip "agent options: no evacuationd-agent binary"
fi

# --- systemd units, scripts -----------------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
    for unit in deploy/systemd/evacuationd.service deploy/systemd/evacuationd-agent.service; do
        # The binaries are not installed here: that one complaint is expected.
        out=$(cd "$(dirname "$unit")" || exit 0; systemd-analyze verify --man=no "./$(basename "$unit")" 2>&1 | grep -v "is not executable: No such file or directory" || true)
        if [ -z "$out" ]; then ok "systemd-analyze verify $unit"; else bad "systemd-analyze verify $unit: $out"; fi
    done
    exposure=$(systemd-analyze security --offline=true deploy/systemd/evacuationd.service 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ -n "$exposure" ] && python3 -c "import sys; sys.exit(0 if float('$exposure') <= 3.0 else 1)"; then
        ok "systemd-analyze security: evacuationd.service exposure $exposure (<= 3.0)"
    else
        bad "systemd-analyze security: evacuationd.service exposure '$exposure'"
    fi
else
    skip "systemd-analyze not installed"
fi
if command -v shellcheck >/dev/null; then
    if shellcheck deploy/install.sh deploy/check.sh deploy/make-certs.sh > "$work/sc.out" 2>&1; then ok "shellcheck install.sh check.sh make-certs.sh"; else bad "shellcheck"; cat "$work/sc.out"; fi
else
    skip "shellcheck not installed"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
