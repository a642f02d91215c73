#!/usr/bin/env bash
# What `npm test` needs besides Node and npm (run by npm as `pretest`): Debian packages,
# installed when missing, as root or with sudo; without either it stops at once and names
# the one command that installs them. Tools are looked for on PATH, as the tests look.
#   redis-server, redis-cli   a real Redis for every store test (never a mock)
#   openssl                   certificates for the TLS test
#   oathtool, jq, curl,       the references' own client examples, run as written
#   python3 requests + pyotp
#   chromium                  the browser test (playwright-core never downloads a browser)
#   nginx                     forward auth behind auth_request
#   python3 grpcio + tools    a Python client generated from our proto
#   python3 fastapi, jwt,     clients/python and its example FastAPI app (uvicorn comes
#     httpx                     with python3-fastapi)
#   protoc and the gRPC       clients/buf/*.yaml, the Go, Python and Java client templates,
#     plugins for Go, Python,   run as the README says
#     Java
#   docker-compose            `docker-compose config` checks compose.yaml; it needs no Docker
#                             engine, so the one it recommends is not installed
#   kubectl (kubernetes-client)  `kubectl kustomize` renders deploy/kubernetes/
set -euo pipefail

has() { command -v "$1" >/dev/null 2>&1; }

# A pyenv or venv python3 early on PATH often cannot see Debian's python3-* packages.
python_with() {
  local python
  for python in $(type -ap python3); do
    "$python" -c "import $1" >/dev/null 2>&1 && return 0
  done
  return 1
}

missing=()
has redis-server || missing+=(redis-server)
has redis-cli || missing+=(redis-tools)
has openssl || missing+=(openssl)
has oathtool || missing+=(oathtool)
has jq || missing+=(jq)
has curl || missing+=(curl)
python_with "pyotp, requests" || missing+=(python3-pyotp python3-requests)
has chromium || missing+=(chromium)
has nginx || missing+=(nginx)
python_with "grpc, grpc_tools.protoc" || missing+=(python3-grpcio python3-grpc-tools)
python_with "fastapi, uvicorn, jwt, httpx, cryptography" ||
  missing+=(python3-fastapi python3-jwt python3-httpx python3-cryptography)
has protoc || missing+=(protobuf-compiler)
has grpc_python_plugin || missing+=(protobuf-compiler-grpc)
has grpc_java_plugin || missing+=(protobuf-compiler-grpc-java-plugin)
has protoc-gen-go || missing+=(protoc-gen-go)
has protoc-gen-go-grpc || missing+=(protoc-gen-go-grpc)
has kubectl || missing+=(kubernetes-client)
# Installed without their recommendations (docker-compose's is the whole Docker engine).
lean=()
has docker-compose || lean+=(docker-compose)

if [ ${#missing[@]} -eq 0 ] && [ ${#lean[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  sudo=""
elif has sudo && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "npm test needs Debian packages that are not installed: ${missing[*]} ${lean[*]}" >&2
  echo "Install them, then run npm test again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]} &&" >&2
  echo "    sudo apt-get install -y --no-install-recommends ${lean[*]}" >&2
  exit 1
fi
echo "npm test: installing ${missing[*]} ${lean[*]} (Debian packages)..." >&2
$sudo apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ${#lean[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${lean[@]}" >/dev/null
fi
echo "npm test: installed." >&2
