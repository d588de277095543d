#!/usr/bin/env bash
# Makes a throwaway PKI for the TLS tests with Debian's openssl: a CA, a server certificate
# for localhost / 127.0.0.1 / ::1, a client certificate from the same CA, and a client
# certificate from another CA (which a mutual-TLS server must refuse).
#   tests/testing/make_test_pki.sh DIR
# Writes DIR/{ca,server,client,rogue-ca,rogue-client}.{pem,key}.
set -euo pipefail
dir=${1:?usage: make_test_pki.sh DIR}
mkdir -p "$dir"
cd "$dir"
days=2

ca() {  # NAME: a self-signed CA
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
    -subj "/CN=maskfeed test $1" -keyout "$1.key" -out "$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>/dev/null
}

leaf() {  # NAME CA USAGE [SAN]: a certificate signed by CA
  local name=$1 issuer=$2 usage=$3 san=${4:-}
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
    -keyout "$name.key" -out "$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=$usage"
    if [ -n "$san" ]; then echo "subjectAltName=$san"; fi
  } >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" -CAcreateserial \
    -days "$days" -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

ca ca
ca rogue-ca
leaf server ca serverAuth "DNS:localhost,IP:127.0.0.1,IP:::1"
leaf client ca clientAuth
leaf rogue-client rogue-ca clientAuth
