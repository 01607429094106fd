#!/bin/sh
# Pebble with REAL validation: pebble-challtestsrv is only its DNS and answers every A query with
# $ANSWER_IP (the lab server under test can be changed at run time through its management API on :8055).
# Pebble's own HTTPS listener gets a certificate from a throwaway CA kept in /pebble (mount it to read
# ca.pem, which clients such as Caddy must trust to talk to the ACME directory).
set -e
d=/pebble; mkdir -p $d; cd $d
ip=$(hostname -i | awk '{print $1}')
if [ ! -s ca.pem ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=kamal-lab-pebble-listener-ca -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$ip" -keyout key.pem -out csr.pem 2>/dev/null
  printf 'subjectAltName=IP:%s,DNS:localhost,DNS:pebble\n' "$ip" > san.ext
  openssl x509 -req -in csr.pem -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile san.ext -out cert.pem 2>/dev/null
fi
cat > pebble.json <<J
{"pebble":{"listenAddress":"0.0.0.0:14000","managementListenAddress":"0.0.0.0:15000","certificate":"$d/cert.pem",
 "privateKey":"$d/key.pem","httpPort":80,"tlsPort":443,"ocspResponderURL":"","externalAccountBindingRequired":false}}
J
pebble-challtestsrv -defaultIPv4 "${ANSWER_IP:-127.0.0.1}" -defaultIPv6 "" -dns01 127.0.0.1:8053 -http01 "" -https01 "" \
  -tlsalpn01 "" -management 0.0.0.0:8055 &
export PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0
exec pebble -config pebble.json -dnsserver 127.0.0.1:8053
