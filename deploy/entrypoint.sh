#!/bin/sh
# The container's entrypoint: container defaults under the operator's settings, secrets read from
# files, then the server in place of this shell (so it gets SIGTERM and drains, and its exit code is
# the container's). Every REELAY_* variable is passed through unchanged.
set -eu

# Inside a container the port is published by the runtime: listen on every interface, not loopback.
export REELAY_URLS="${REELAY_URLS:-http://0.0.0.0:8080}"
export REELAY_DATA_DIR="${REELAY_DATA_DIR:-/data}"

# Docker and Kubernetes secrets arrive as files: REELAY_X_FILE=/run/secrets/x sets REELAY_X to the
# file's contents (a trailing newline dropped), so a connection string or an S3 secret never sits
# in the environment of `docker inspect`. Setting both is a mistake worth stopping for.
for pair in $(env | sed -n 's/^\(REELAY_[A-Za-z0-9_]*\)_FILE=.*/\1/p'); do
  eval "file=\${${pair}_FILE}"
  if eval "[ -n \"\${${pair}+set}\" ]"; then
    echo "reelay: both ${pair} and ${pair}_FILE are set; set one." >&2
    exit 64
  fi
  if [ ! -r "$file" ]; then
    echo "reelay: ${pair}_FILE names ${file}, which cannot be read." >&2
    exit 66
  fi
  value=$(cat "$file")
  export "${pair}=${value}"
  unset "${pair}_FILE"
done

# A volume mounted over the data directory with the wrong owner fails here, with the reason, rather
# than at the first write.
mkdir -p "$REELAY_DATA_DIR" 2>/dev/null || true
if ! ( : > "$REELAY_DATA_DIR/.writable" ) 2>/dev/null; then
  echo "reelay: the data directory ${REELAY_DATA_DIR} is not writable by uid $(id -u); chown the volume to it or set REELAY_DATA_DIR." >&2
  exit 73
fi
rm -f "$REELAY_DATA_DIR/.writable"

exec dotnet "${REELAY_SERVER_DLL:-/app/Reelay.Server.dll}" "$@"
