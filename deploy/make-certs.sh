#!/bin/sh
# make-certs.sh: a THROWAWAY certificate authority and certificates for evacuationd's mutual
# TLS (S8), for trying things out and for test clusters. Not a PKI: the CA key is a plain
# file next to the certificates. Production uses the site's own CA (see deploy/README.md,
# "Mutual TLS" for how subjects map to roles).
#
# usage: deploy/make-certs.sh [-a HOST]... [-d DAYS] DIR [SERVER_NAME_OR_IP]...
#   DIR                 where the PEM files go (created; an existing ca.pem + ca-key.pem
#                       there is reused, so certificates can be added later)
#   SERVER_NAME_OR_IP   extra subject alternative names of the daemon's server certificate
#                       (always included: IP:127.0.0.1, DNS:localhost)
#   -a HOST             an agent certificate for compute host HOST (repeatable;
#                       default: compute-01 compute-02)
#   -d DAYS             validity of the certificates (default 365; the CA: 10 times that)
#
# Subjects (role = OU, agent host = CN):
#   ca.pem              O=evacuationd, CN=evacuationd throwaway CA
#   server.pem          O=evacuationd, OU=server,   CN=<first name or localhost>  (serverAuth)
#   fencer.pem          O=evacuationd, OU=fencer,   CN=fencer                    (clientAuth)
#   operator.pem        O=evacuationd, OU=operator, CN=operator                  (clientAuth)
#   viewer.pem          O=evacuationd, OU=viewer,   CN=viewer                    (clientAuth)
#   agent-HOST.pem      O=evacuationd, OU=agent,    CN=HOST, SAN DNS:HOST        (clientAuth)
# each with its key in NAME-key.pem (EC P-256, unencrypted PKCS#8, mode 0600).
# Uses only openssl.
set -eu

usage() {
    sed -n '7,14p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

agents=""
days=365
while getopts "a:d:h" opt; do
    case "$opt" in
        a) agents="$agents $OPTARG" ;;
        d) days="$OPTARG" ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
dir=$1
shift
[ -n "$agents" ] || agents="compute-01 compute-02"

case "$days" in
    ''|*[!0-9]*) echo "make-certs.sh: -d needs a number of days (got '$days')" >&2; exit 2 ;;
esac
command -v openssl >/dev/null 2>&1 || { echo "make-certs.sh: openssl is needed" >&2; exit 1; }

# Names end up in subjects and extension files: allow host-name characters only.
check_name() {
    case "$1" in
        ''|*[!A-Za-z0-9.:_-]*) echo "make-certs.sh: '$1' is not a host name or IP address" >&2; exit 2 ;;
    esac
}
for n in $agents "$@"; do check_name "$n"; done

mkdir -p "$dir"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

serial() { echo "0x$(openssl rand -hex 16)"; }

# issue NAME SUBJECT EKU SAN: NAME.pem and NAME-key.pem signed by the CA.
issue() {
    name=$1 subject=$2 eku=$3 san=$4
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/$name-key.pem" -out "$tmp/$name.csr" -subj "$subject" 2>/dev/null
    {
        echo "basicConstraints = critical, CA:FALSE"
        echo "keyUsage = critical, digitalSignature, keyEncipherment"
        echo "extendedKeyUsage = $eku"
        echo "subjectKeyIdentifier = hash"
        echo "authorityKeyIdentifier = keyid, issuer"
        [ -z "$san" ] || echo "subjectAltName = $san"
    } > "$tmp/$name.ext"
    openssl x509 -req -in "$tmp/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
        -set_serial "$(serial)" -days "$days" -sha256 -extfile "$tmp/$name.ext" \
        -out "$dir/$name.pem" 2>/dev/null
    chmod 0644 "$dir/$name.pem"
    echo "  $dir/$name.pem  ($subject)"
}

if [ -f "$dir/ca.pem" ] && [ -f "$dir/ca-key.pem" ]; then
    echo "reusing the CA in $dir/ca.pem"
else
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" -days $((days * 10)) -sha256 \
        -set_serial "$(serial)" \
        -subj "/O=evacuationd/CN=evacuationd throwaway CA" \
        -addext "basicConstraints = critical, CA:TRUE, pathlen:0" \
        -addext "keyUsage = critical, keyCertSign, cRLSign" \
        -addext "subjectKeyIdentifier = hash" 2>/dev/null
    chmod 0644 "$dir/ca.pem"
    echo "created the CA $dir/ca.pem (its key $dir/ca-key.pem: keep it away from the daemons)"
fi

san="IP:127.0.0.1, DNS:localhost"
server_cn=localhost
for n in "$@"; do
    case "$n" in
        *:*) san="$san, IP:$n" ;;         # IPv6 address
        *[!0-9.]*) san="$san, DNS:$n" ;;  # host name
        *) san="$san, IP:$n" ;;           # IPv4 address
    esac
    [ "$server_cn" != localhost ] || server_cn=$n
done
issue server "/O=evacuationd/OU=server/CN=$server_cn" serverAuth "$san"
for role in fencer operator viewer; do
    issue "$role" "/O=evacuationd/OU=$role/CN=$role" clientAuth ""
done
for host in $agents; do
    issue "agent-$host" "/O=evacuationd/OU=agent/CN=$host" clientAuth "DNS:$host"
done

cat <<MSG

daemon (serve):  --Grpc:Listen=https://0.0.0.0:50077 --Grpc:CertFile=$dir/server.pem \\
                 --Grpc:KeyFile=$dir/server-key.pem --Grpc:ClientCaFile=$dir/ca.pem
evacctl:         evacctl --server https://127.0.0.1:50077 --ca $dir/ca.pem \\
                 --cert $dir/operator.pem --key $dir/operator-key.pem hosts
MSG
